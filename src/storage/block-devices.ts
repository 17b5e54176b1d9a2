import { z } from 'zod';
import { isWorker } from '../clusters/cluster-metrics.js';
import type { KubeObject } from '../kube/kube-object.js';
import type { StorageClusterObject, StorageConfig, StorageDevice } from './storagecluster-crd.js';

/**
 * The node annotation listing a node's block devices, as JSON:
 * `[{"name":"/dev/sdb","size":"100Gi"}]` (sizes as Kubernetes quantities), optionally with
 * `usable` (default true) and `reason` (why not). On provisioned clusters zcloud's discovery
 * writes it over SSH (src/storage/discovery.ts); on imported ones an operator does; format in
 * docs/storage.md.
 */
export const BLOCK_DEVICES_ANNOTATION = 'storage.zcloud.cn/blockdevices';

/**
 * A discovery asked for through the API (`?action=discover`), on the node: a unique value. The
 * request travels through the cluster, so whichever replica leads runs it. Once discovery has
 * reported after it, it copies the value into DISCOVERY_SERVED_ANNOTATION.
 */
export const DISCOVERY_REQUESTED_ANNOTATION = 'storage.zcloud.cn/blockdevices-requested';
export const DISCOVERY_SERVED_ANNOTATION = 'storage.zcloud.cn/blockdevices-requested-served';

/** The node's discovery request not yet served, if any. */
export function pendingDiscoveryRequest(node: KubeObject): string | undefined {
  const requested = node.metadata.annotations?.[DISCOVERY_REQUESTED_ANNOTATION];
  return requested !== undefined && requested !== node.metadata.annotations?.[DISCOVERY_SERVED_ANNOTATION] ? requested : undefined;
}

const DeviceListSchema = z.array(z.object({ name: z.string().min(1), size: z.string(), usable: z.boolean().default(true), reason: z.string().default('') }));

/**
 * The devices `node` reports, sorted by name; [] without the annotation. A malformed annotation
 * (edited by hand) also gives [], so one bad node never breaks the views of the whole cluster.
 */
export function blockDevicesOf(node: KubeObject): ReportedDevice[] {
  const raw = node.metadata.annotations?.[BLOCK_DEVICES_ANNOTATION];
  if (raw === undefined) return [];
  const parsed = DeviceListSchema.safeParse(parseJson(raw));
  if (!parsed.success) return [];
  return parsed.data.map(({ name, size, usable, reason }) => ({ name, size, usable, reason })).sort((a, b) => a.name.localeCompare(b.name));
}

/** A device as its node reports it: usable by a storage cluster or not, and why. */
export interface ReportedDevice extends StorageDevice {
  usable: boolean;
  reason: string;
}

/** The devices a storage cluster on `node` would take: the usable ones, as name and size. */
export function usableDevicesOf(node: KubeObject): StorageDevice[] {
  return blockDevicesOf(node)
    .filter((d) => d.usable)
    .map(({ name, size }) => ({ name, size }));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** Name of the storage cluster whose hosts include `nodeName`, or ''. */
export function storageClusterOf(nodeName: string, clusters: readonly StorageClusterObject[]): string {
  const users = clusters.filter((c) => c.spec.hosts.includes(nodeName)).map((c) => c.metadata.name);
  return users.sort()[0] ?? '';
}

export interface NodeBlockDevices {
  nodeName: string;
  blockDevices: Array<ReportedDevice & { usedBy: string }>;
}

/**
 * One entry per worker node (sorted by name): its devices and the storage cluster using them.
 * A storage cluster takes every device of its hosts, so usage is decided per node.
 */
export function blockDeviceView(nodes: readonly KubeObject[], clusters: readonly StorageClusterObject[]): NodeBlockDevices[] {
  return nodes
    .filter(isWorker)
    .map((node) => {
      const usedBy = storageClusterOf(node.metadata.name, clusters);
      return { nodeName: node.metadata.name, blockDevices: blockDevicesOf(node).map((d) => ({ ...d, usedBy })) };
    })
    .sort((a, b) => a.nodeName.localeCompare(b.nodeName));
}

/** Devices of worker nodes no storage cluster uses: what a storage cluster could still take. */
export function freeDevices(nodes: readonly KubeObject[], clusters: readonly StorageClusterObject[]): StorageConfig[] {
  return blockDeviceView(nodes, clusters)
    .filter((n) => n.blockDevices.length > 0 && n.blockDevices[0].usedBy === '')
    .map((n) => ({ nodeName: n.nodeName, blockDevices: n.blockDevices.filter((d) => d.usable).map(({ name, size }) => ({ name, size })) }))
    .filter((n) => n.blockDevices.length > 0);
}

/** Usable devices of each of `hosts`, as the node annotations report them (in the order of `hosts`). */
export function hostDevices(hosts: readonly string[], nodes: readonly KubeObject[]): StorageConfig[] {
  const byName = new Map(nodes.map((n) => [n.metadata.name, n]));
  return hosts.map((nodeName) => {
    const node = byName.get(nodeName);
    return { nodeName, blockDevices: node ? usableDevicesOf(node) : [] };
  });
}
