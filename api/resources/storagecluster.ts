import { z } from 'zod';
import { ClusterUnavailableError, ConflictError, InputError, NotFoundError } from '../../src/errors.js';
import type { KubeObject } from '../../src/kube/kube-object.js';
import type { ObjectReader } from '../../src/kube/object-store.js';
import { blockDevicesOf, freeDevices, hostDevices } from '../../src/storage/block-devices.js';
import { ensureStorageClusterCache, STORAGE_TYPES, type StorageClusterObject, type StorageType } from '../../src/storage/storagecluster-crd.js';
import { clusterOf, readCache } from '../cluster-access.js';
import { defineResource, type ApiObject, type RequestContext } from '../framework/resource.js';
import { ObjectNameSchema, uniqueBy, withAliases } from './shared/validation.js';

/** The phase shown until a storage operator in the cluster writes the object's status. */
export const WAITING_FOR_OPERATOR = 'WaitingForOperator';

const HostsSchema = uniqueBy(z.string().min(1, 'is required'), (h) => h, 'host').min(1, 'must name at least one node');

/** Which devices a host gives (`{"worker-1": ["/dev/sdb"]}`); a host left out gives every usable one. */
const DevicesSchema = z.record(z.string(), uniqueBy(z.string().regex(/^\/dev\/\S+$/, 'must be a device path like /dev/sdb'), (d) => d, 'device').min(1, 'must name at least one device'));

/** Clients of 2019 call ceph by its file system's name. */
const StorageTypeSchema = z.preprocess((value) => (value === 'cephfs' ? 'ceph' : value), z.enum(STORAGE_TYPES));

/**
 * The seed spells the create field `storagetype` (the resource field is `storageType`); the
 * console sends `storageType`, so both are taken.
 */
const CreateStorageCluster = withAliases(
  { storageType: 'storagetype' },
  z.object({ name: ObjectNameSchema, storagetype: StorageTypeSchema, hosts: HostsSchema, devices: DevicesSchema.optional() }),
);
const UpdateStorageCluster = z.object({ hosts: HostsSchema, devices: DevicesSchema.optional() });

export type StorageClusterInput = z.infer<typeof CreateStorageCluster>;

/**
 * Kubernetes → zcloud. Figures come from the status the storage operator writes; `config`
 * falls back to the hosts' devices as their nodes report them, and `freeDevs` lists devices of
 * worker nodes no storage cluster uses (`nodes`, `all`: the cluster's nodes and storage clusters).
 */
export function storageClusterToApi(sc: StorageClusterObject, nodes: readonly KubeObject[], all: readonly StorageClusterObject[]): ApiObject {
  const status = sc.status ?? {};
  return {
    id: sc.metadata.name,
    name: sc.metadata.name,
    storageType: sc.spec.storageType,
    hosts: [...sc.spec.hosts],
    devices: sc.spec.devices ?? {},
    phase: sc.metadata.deletionTimestamp ? 'Deleting' : (status.phase ?? WAITING_FOR_OPERATOR),
    message: status.message ?? '',
    size: status.size ?? '',
    usedSize: status.usedSize ?? '',
    freeSize: status.freeSize ?? '',
    nodes: status.nodes ?? [],
    pvs: (status.pvs ?? []).map((pv) => ({ ...pv, usedSize: pv.usedSize ?? '', freeSize: pv.freeSize ?? '' })),
    config: status.config ?? hostDevices(sc.spec.hosts, nodes),
    freeDevs: freeDevices(nodes, all),
    creationTimestamp: sc.metadata.creationTimestamp,
  };
}

/** zcloud → Kubernetes: the spec only (status is the operator's). With `current`, its metadata is kept. */
export function storageClusterToKube(input: StorageClusterInput, current?: StorageClusterObject): StorageClusterObject {
  const { status: _status, ...rest } = current ?? ({} as Partial<StorageClusterObject>);
  return {
    ...rest,
    metadata: { ...(current?.metadata ?? {}), name: input.name },
    spec: { storageType: input.storagetype, hosts: [...input.hosts], ...(input.devices ? { devices: input.devices } : {}) },
  };
}

/** Every host must be a node of the cluster, and `devices` may name hosts only: 422 naming the first that is not. */
export function requireNodes(nodes: ObjectReader, hosts: readonly string[], cluster: string, devices: Record<string, string[]> = {}): void {
  for (const host of Object.keys(devices)) if (!hosts.includes(host)) throw new InputError(`${host} is not one of the hosts`, `devices.${host}`);
  hosts.forEach((host, index) => {
    if (!nodes.get(undefined, host)) throw new InputError(`${host} is not a node of cluster ${cluster}`, `hosts.${index}`);
  });
}

/**
 * On clusters zcloud provisions, zcloud is the storage operator: it builds lvm only (422 for
 * ceph), and every host must report at least one usable device (422 naming the host and why
 * each of its devices is refused). Checked against the cached node annotations that discovery
 * writes; the operator checks each device again on the host before touching it.
 */
export function requireOperable(nodes: ObjectReader, input: StorageClusterInput, keptHosts: readonly string[] = []): void {
  if (input.storagetype !== 'lvm') throw new InputError(`${input.storagetype} is not supported on clusters zcloud provisions (lvm is)`, 'storagetype');
  input.hosts.forEach((host, index) => {
    if (keptHosts.includes(host)) return;
    const devices = blockDevicesOf(nodes.get(undefined, host)!);
    const chosen = input.devices?.[host];
    if (chosen) {
      chosen.forEach((name, i) => {
        const device = devices.find((d) => d.name === name);
        if (!device) throw new InputError(`${name} is not a block device of ${host}`, `devices.${host}.${i}`);
        if (!device.usable) throw new InputError(`${name} of ${host} cannot be used: ${device.reason}`, `devices.${host}.${i}`);
      });
      return;
    }
    if (devices.some((d) => d.usable)) return;
    const why = devices.length ? devices.map((d) => `${d.name} ${d.reason}`).join('; ') : 'no block device discovered';
    throw new InputError(`${host} has no usable block device (${why})`, `hosts.${index}`);
  });
}

/**
 * One storage cluster per storage type, and a node's devices serve one storage cluster: 409
 * otherwise. Checked against the cache (like every uniqueness rule zcloud cannot leave to the
 * apiserver); `name` is the cluster being written, which may keep its own hosts.
 */
export function requireNoConflict(all: readonly StorageClusterObject[], name: string, hosts: readonly string[], storageType?: StorageType): void {
  const others = all.filter((c) => c.metadata.name !== name);
  const sameType = storageType && others.find((c) => c.spec.storageType === storageType);
  if (sameType) throw new ConflictError(`storagecluster ${sameType.metadata.name} already provides ${storageType} storage`);
  for (const host of hosts) {
    const user = others.find((c) => c.spec.hosts.includes(host));
    if (user) throw new ConflictError(`node ${host} is already used by storagecluster ${user.metadata.name}`);
  }
}

/**
 * The cached storage clusters, or none while zcloud has not installed (or seen) the CRD. An
 * informer still on its first LIST answers 503 rather than an empty list that may be wrong.
 */
function cachedClusters(ctx: RequestContext): ObjectReader<StorageClusterObject> | undefined {
  const runtime = clusterOf(ctx);
  const informer = runtime.cache.informer('storageclusters');
  if (!informer) return undefined;
  if (!informer.hasSynced) throw new ClusterUnavailableError(`cluster ${runtime.name}: storageclusters are not cached yet`);
  return readCache<StorageClusterObject>(ctx, 'storageclusters').store;
}

function notFound(id: string): never {
  throw new NotFoundError(`storagecluster ${id} not found`);
}

export const storageclusterResource = defineResource({
  kind: 'storagecluster',
  parents: ['cluster'],
  list: async (ctx) => {
    const nodes = readCache(ctx, 'nodes').store.list();
    const all = cachedClusters(ctx)?.list() ?? [];
    return all.map((sc) => storageClusterToApi(sc, nodes, all)).sort((a, b) => a.id.localeCompare(b.id));
  },
  get: async (ctx, id) => {
    const nodes = readCache(ctx, 'nodes').store.list();
    const store = cachedClusters(ctx);
    const sc = store?.get(undefined, id);
    return sc && storageClusterToApi(sc, nodes, store!.list());
  },
  create: {
    input: CreateStorageCluster,
    run: async (ctx, input) => {
      const runtime = clusterOf(ctx);
      const nodes = readCache(ctx, 'nodes').store;
      // Bad hosts are refused before anything (even the CRD) is written to the cluster.
      requireNodes(nodes, input.hosts, runtime.name, input.devices);
      if (runtime.record.source.kind === 'ssh') requireOperable(nodes, input);
      const { store } = await ensureStorageClusterCache(runtime);
      requireNoConflict(store.list(), input.name, input.hosts, input.storagetype);
      const created = await runtime.client.create('storageclusters', storageClusterToKube(input));
      return storageClusterToApi(created, nodes.list(), store.list());
    },
  },
  update: {
    input: UpdateStorageCluster,
    run: async (ctx, id, input) => {
      const runtime = clusterOf(ctx);
      const nodes = readCache(ctx, 'nodes').store;
      const store = cachedClusters(ctx);
      const current = store?.get(undefined, id);
      if (!store || !current) return notFound(id);
      // Devices of hosts kept stay as they were (the operator recorded them); new hosts may name theirs.
      const kept = Object.fromEntries(Object.entries(current.spec.devices ?? {}).filter(([host]) => input.hosts.includes(host)));
      const wanted: StorageClusterInput = { name: id, storagetype: current.spec.storageType, hosts: input.hosts, devices: { ...input.devices, ...kept } };
      requireNodes(nodes, input.hosts, runtime.name, input.devices);
      if (runtime.record.source.kind === 'ssh') requireOperable(nodes, wanted, current.spec.hosts);
      requireNoConflict(store.list(), id, input.hosts);
      // Replacing with the cached resourceVersion: a concurrent change answers 409, never lost.
      const next = storageClusterToKube(Object.keys(wanted.devices!).length ? wanted : { ...wanted, devices: undefined }, current);
      const updated = await runtime.client.replace('storageclusters', next);
      return storageClusterToApi(updated, nodes.list(), store.list());
    },
  },
  remove: async (ctx, id) => {
    const sc = cachedClusters(ctx)?.get(undefined, id);
    if (!sc) return notFound(id);
    // Volumes as the operator last saw them on the hosts (its finalizer checks again before removing anything).
    const volumes = sc.status?.pvs ?? [];
    if (volumes.length) throw new InputError(`storagecluster ${id} still holds volumes: ${volumes.map((v) => `${v.name} on ${v.node}`).join(', ')}; delete them first`);
    await clusterOf(ctx).client.delete('storageclusters', undefined, id);
  },
});
