import type { ClusterManager, ClusterRuntime } from '../src/clusters/cluster-manager.js';
import type { ProvisionedClusterSpec } from '../src/clusters/provisioning-spec.js';
import type { ControllerDefinition, Reconciler, Result } from '../src/controller.js';
import { formatBytes } from '../src/kube/quantity.js';
import type { PersistentVolumeObject } from '../src/kube/objects.js';
import { ignoreNotFound } from '../src/errors.js';
import type { Logger } from '../src/logger.js';
import { onProvisionedHost } from '../src/provisioning/host-session.js';
import type { ProvisioningJournalStore } from '../src/provisioning/journal-store.js';
import { blockDevicesOf, usableDevicesOf } from '../src/storage/block-devices.js';
import { ensureVolumeGroup, removeVolumeGroup, type HostVolumeGroup, type VolumeGroupFigures } from '../src/storage/lvm.js';
import type { StorageClusterObject, StorageConfig, StorageNodeStatus, StoragePvStatus } from '../src/storage/storagecluster-crd.js';
import { NOT_YET_MS, provisionedRuntime } from './block-device-discovery.js';
import { LVM_PROVISIONER, LVM_STORAGE_CLASS } from './lvm-provisioner.js';

/** Keeps a StorageCluster object until zcloud has removed its volume groups from the hosts. */
export const VOLUME_GROUPS_FINALIZER = 'storage.zcloud.cn/volume-groups';

export interface StorageClusterControllerOptions {
  clusters: ClusterManager;
  journal: ProvisioningJournalStore;
  logger: Logger;
  /**
   * How often a Running storage cluster's figures (sizes, volumes) are read again from its hosts
   * (each read runs a few one-shot containers per host), for changes made outside zcloud.
   */
  refreshMs: number;
  callTimeoutMs?: number;
}

const keyOf = (cluster: string, name: string): string => `${cluster}/${name}`;

/**
 * zcloud as the storage operator of the clusters it provisions (key = `<cluster>/<storagecluster>`),
 * for storage type lvm:
 * 1. the finalizer, so a delete waits for the hosts to be cleaned;
 * 2. `status.config`: the devices each host gives, recorded (phase Creating) before any host is
 *    touched, so a zcloud killed half-way resumes on the same devices and never picks others;
 * 3. per host over SSH, the volume group made or completed (src/storage/lvm.ts: idempotent);
 * 4. status: per node and total sizes, the volumes (logical volumes), phase Running, or Failed
 *    with the message naming each host and cause (retried with backoff).
 * Deleting: each host's volume group removed (refused while it holds volumes), then the finalizer.
 * Hosts taken out of the spec have their volume group removed the same way.
 */
export class StorageClusterReconciler implements Reconciler {
  constructor(private readonly options: StorageClusterControllerOptions) {}

  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const [clusterName, name] = key.split('/') as [string, string];
    const target = provisionedRuntime(this.options.clusters, clusterName);
    if (!target) return {};
    if (target === 'not-yet') return { requeueAfterMs: NOT_YET_MS };
    const { runtime, spec } = target;
    const informer = runtime.cache.informer<StorageClusterObject>('storageclusters');
    if (!informer) return {};
    if (!informer.hasSynced) return { requeueAfterMs: NOT_YET_MS };
    const sc = informer.store.get(undefined, name);
    if (!sc || sc.spec.storageType !== 'lvm') return {};
    const finalizers = sc.metadata.finalizers ?? [];
    const session = new HostSessions(this.options, clusterName, spec, name, signal);

    if (sc.metadata.deletionTimestamp) {
      if (!finalizers.includes(VOLUME_GROUPS_FINALIZER)) return {};
      const failures = await session.eachHost(sc.status?.config ?? [], (host) => removeVolumeGroup(host));
      if (failures.length) return this.failed(runtime, sc, failures, signal);
      if (runtime.cache.informer('storageclasses')?.store.get(undefined, LVM_STORAGE_CLASS)) await runtime.client.delete('storageclasses', undefined, LVM_STORAGE_CLASS).catch(ignoreNotFound);
      await runtime.client.mergePatch('storageclusters', undefined, name, { metadata: { finalizers: finalizers.filter((f) => f !== VOLUME_GROUPS_FINALIZER), resourceVersion: sc.metadata.resourceVersion } });
      return {};
    }
    if (!finalizers.includes(VOLUME_GROUPS_FINALIZER)) {
      await runtime.client.mergePatch('storageclusters', undefined, name, { metadata: { finalizers: [...finalizers, VOLUME_GROUPS_FINALIZER], resourceVersion: sc.metadata.resourceVersion } });
      return { requeueAfterMs: 0 };
    }

    const recorded = sc.status?.config ?? [];
    const config = sc.spec.hosts.map((host) => recorded.find((c) => c.nodeName === host) ?? { nodeName: host, blockDevices: devicesReported(runtime, host, sc.spec.devices?.[host]) });
    const dropped = recorded.filter((c) => !sc.spec.hosts.includes(c.nodeName));
    const changed = JSON.stringify(config) !== JSON.stringify(recorded.filter((c) => sc.spec.hosts.includes(c.nodeName))) || !sc.status?.phase;
    // `message: null` removes an earlier failure's message (JSON merge patch).
    if (changed) {
      // Recorded before any host is touched (the dropped hosts stay until they are cleaned).
      await runtime.client.mergePatchStatus('storageclusters', undefined, name, { status: { phase: 'Creating', message: null, config: [...config, ...dropped] } });
      return { requeueAfterMs: 0 };
    }
    const empty = config.filter((c) => c.blockDevices.length === 0).map((c) => `${c.nodeName}: no usable block device`);
    const removals = await session.eachHost(dropped, (host) => removeVolumeGroup(host));
    const groups = new Map<string, VolumeGroupFigures>();
    const failures = [
      ...empty,
      ...removals,
      ...(await session.eachHost(
        config.filter((c) => c.blockDevices.length > 0),
        async (host, node) => void groups.set(node, await ensureVolumeGroup(host)),
      )),
    ];
    if (signal.aborted) return {};
    const remaining = removals.length ? [...config, ...dropped] : config;
    if (failures.length) return this.failed(runtime, sc, failures, signal, remaining);
    await runtime.client.mergePatchStatus('storageclusters', undefined, name, { status: { ...figures(config, groups), phase: 'Running', message: null, config: remaining } });
    await ensureStorageClass(runtime, name);
    return { requeueAfterMs: this.options.refreshMs };
  }

  private async failed(runtime: ClusterRuntime, sc: StorageClusterObject, failures: string[], signal: AbortSignal, config?: StorageConfig[]): Promise<Result> {
    if (signal.aborted) return {};
    const message = failures.join('; ');
    this.options.logger.warn('storage cluster not ready', { cluster: runtime.name, storagecluster: sc.metadata.name, error: message });
    const phase = sc.metadata.deletionTimestamp ? (sc.status?.phase ?? 'Failed') : 'Failed';
    await runtime.client.mergePatchStatus('storageclusters', undefined, sc.metadata.name, { status: { phase, message, ...(config ? { config } : {}) } });
    throw new Error(`storagecluster ${sc.metadata.name} in cluster ${runtime.name}: ${message}`);
  }
}

/**
 * The StorageClass claims ask for to get a volume of this storage cluster: zcloud provisions it
 * (controllers/lvm-provisioner.ts) once the scheduler has picked the pod's node, so the volume
 * is made where the pod runs.
 */
async function ensureStorageClass(runtime: ClusterRuntime, storageCluster: string): Promise<void> {
  if (runtime.cache.informer('storageclasses')?.store.get(undefined, LVM_STORAGE_CLASS)) return;
  await runtime.client.create('storageclasses', {
    metadata: { name: LVM_STORAGE_CLASS, annotations: { 'storage.zcloud.cn/storagecluster': storageCluster } },
    provisioner: LVM_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  });
}

/**
 * The devices the host gives: those the spec names (as reported, else size unknown: the host
 * check refuses a missing one), or every usable device its node reports (discovery keeps the
 * annotation current).
 */
function devicesReported(runtime: ClusterRuntime, host: string, chosen: readonly string[] | undefined): StorageConfig['blockDevices'] {
  const node = runtime.cache.informer('nodes')?.store.get(undefined, host);
  if (!chosen) return node ? usableDevicesOf(node) : [];
  const reported = node ? blockDevicesOf(node) : [];
  return chosen.map((name) => ({ name, size: reported.find((d) => d.name === name)?.size ?? '' }));
}

/**
 * Per node and total figures, and the volumes, from each host's volume group. A volume's use of
 * its file system is not known from the host's LVM, so it is left out (the API shows ''); an
 * empty string is not written either: the apiserver takes it for null and refuses the patch.
 */
function figures(config: readonly StorageConfig[], groups: ReadonlyMap<string, VolumeGroupFigures>): Required<Pick<NonNullable<StorageClusterObject['status']>, 'size' | 'usedSize' | 'freeSize' | 'nodes' | 'pvs'>> {
  const nodes: StorageNodeStatus[] = [];
  const pvs: StoragePvStatus[] = [];
  let size = 0;
  let free = 0;
  for (const { nodeName } of config) {
    const group = groups.get(nodeName);
    if (!group) continue;
    size += group.size;
    free += group.free;
    nodes.push({ name: nodeName, size: formatBytes(group.size), usedSize: formatBytes(group.size - group.free), freeSize: formatBytes(group.free), stat: true });
    for (const volume of group.volumes) pvs.push({ name: volume.name, size: formatBytes(volume.size), node: nodeName, pods: [] });
  }
  return { size: formatBytes(size), usedSize: formatBytes(size - free), freeSize: formatBytes(free), nodes, pvs };
}

/** Reaches the hosts of one storage cluster, one after another, collecting each failure as "host: cause". */
class HostSessions {
  constructor(
    private readonly options: StorageClusterControllerOptions,
    private readonly cluster: string,
    private readonly spec: ProvisionedClusterSpec,
    private readonly storageCluster: string,
    private readonly signal: AbortSignal,
  ) {}

  async eachHost(config: readonly StorageConfig[], work: (host: HostVolumeGroup, node: string) => Promise<void>): Promise<string[]> {
    const failures: string[] = [];
    for (const { nodeName, blockDevices } of config) {
      if (this.signal.aborted) break;
      const node = this.spec.nodes.find((n) => n.name === nodeName);
      if (!node) {
        failures.push(`${nodeName}: not a host of cluster ${this.cluster}`);
        continue;
      }
      try {
        await onProvisionedHost(this.cluster, this.spec, node, { journal: this.options.journal, timeoutMs: this.options.callTimeoutMs ?? 60_000, signal: this.signal }, (docker, call) =>
          work({ docker, call, storageCluster: this.storageCluster, devices: blockDevices.map((d) => d.name) }, nodeName),
        );
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    return failures;
  }
}

export function storageClusterController(options: StorageClusterControllerOptions): ControllerDefinition {
  return {
    name: 'storage-cluster',
    reconciler: new StorageClusterReconciler(options),
    watch: (on) => {
      on.objects('storageclusters', (cluster, sc) => (options.clusters.provisioned(cluster) ? keyOf(cluster, sc.metadata.name) : undefined));
      const everyStorageCluster = (cluster: string): string[] | undefined =>
        options.clusters.get(cluster)?.cache.informer<StorageClusterObject>('storageclusters')?.store.list().map((sc) => keyOf(cluster, sc.metadata.name));
      on.clusters((event, cluster) => (event === 'attached' && options.clusters.provisioned(cluster) ? everyStorageCluster(cluster) : undefined));
      // A volume provisioned or released changes the figures: read them now, not at the next refresh.
      on.objects('persistentvolumes', (cluster, pv) =>
        options.clusters.provisioned(cluster) && (pv as PersistentVolumeObject).spec?.storageClassName === LVM_STORAGE_CLASS ? everyStorageCluster(cluster) : undefined,
      );
    },
  };
}
