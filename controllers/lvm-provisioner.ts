import { createHash } from 'node:crypto';
import type { ClusterManager, ClusterRuntime } from '../src/clusters/cluster-manager.js';
import type { ProvisionedClusterSpec } from '../src/clusters/provisioning-spec.js';
import type { ControllerDefinition, Reconciler, Result } from '../src/controller.js';
import { ConflictError } from '../src/errors.js';
import type { KubeObject } from '../src/kube/kube-object.js';
import { parseQuantity } from '../src/kube/quantity.js';
import type { Logger } from '../src/logger.js';
import { onProvisionedHost } from '../src/provisioning/host-session.js';
import type { ProvisioningJournalStore } from '../src/provisioning/journal-store.js';
import type { HostVolumeGroup } from '../src/storage/lvm.js';
import { ensureVolume, removeVolume } from '../src/storage/lvm-volumes.js';
import type { StorageClusterObject } from '../src/storage/storagecluster-crd.js';
import { NOT_YET_MS, provisionedRuntime } from './block-device-discovery.js';

/** The StorageClass of lvm storage clusters on provisioned clusters, and its provisioner (zcloud). */
export const LVM_STORAGE_CLASS = 'zcloud-lvm';
export const LVM_PROVISIONER = 'storage.zcloud.cn/lvm';
const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const NODE_ANNOTATION = 'storage.zcloud.cn/node';
const STORAGE_CLUSTER_ANNOTATION = 'storage.zcloud.cn/storagecluster';

/** How long a claim that cannot be provisioned now (no space, no group) waits before the next try. */
const RETRY_MS = 30_000;
/** How often a bound volume's loop device and mount are checked (a host restart drops them). */
export const VOLUME_CHECK_MS = 300_000;

interface ClaimObject extends KubeObject {
  spec: { storageClassName?: string; volumeName?: string; volumeMode?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } } };
  status?: { phase?: string };
}

interface VolumeObject extends KubeObject {
  spec: { persistentVolumeReclaimPolicy?: string; claimRef?: { namespace?: string; name?: string; uid?: string } };
}

export interface LvmProvisionerOptions {
  clusters: ClusterManager;
  journal: ProvisioningJournalStore;
  logger: Logger;
  callTimeoutMs?: number;
}

const keyOf = (cluster: string, namespace: string, claim: string): string => `${cluster}/${namespace}/${claim}`;
const volumeNameOf = (claimUid: string): string => `pvc-${claimUid}`;

/**
 * zcloud as the external provisioner of the `zcloud-lvm` StorageClass on the clusters it
 * provisions (key = `<cluster>/<namespace>/<claim>`):
 * - a Pending claim of the class that the scheduler gave a node (`volume.kubernetes.io/selected-node`)
 *   gets a logical volume in that node's volume group of the lvm storage cluster, ext4 and mounted
 *   (src/storage/lvm-volumes.ts), then a `local` PersistentVolume with node affinity to the node,
 *   pre-bound to the claim (claimRef); the PV controller completes the binding. A claim that does
 *   not fit stays Pending with a Warning event saying why, retried;
 * - our volumes whose claim is gone (or is another claim of the same name) and whose reclaim
 *   policy is Delete are unmounted, zeroed and removed from the host, then the PV is deleted;
 * - a bound volume is looked at again every VOLUME_CHECK_MS (puts back a mount a restart dropped).
 */
export class LvmProvisionerReconciler implements Reconciler {
  constructor(private readonly options: LvmProvisionerOptions) {}

  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const [clusterName, namespace, name] = key.split('/') as [string, string, string];
    const target = provisionedRuntime(this.options.clusters, clusterName);
    if (!target) return {};
    if (target === 'not-yet') return { requeueAfterMs: NOT_YET_MS };
    const { runtime, spec } = target;
    const claims = runtime.cache.informer<ClaimObject>('persistentvolumeclaims');
    const volumes = runtime.cache.informer<VolumeObject>('persistentvolumes');
    if (!claims?.hasSynced || !volumes?.hasSynced) return { requeueAfterMs: NOT_YET_MS };
    const claim = claims.store.get(namespace, name);
    const ours = volumes.store.list().filter((pv) => pv.metadata.annotations?.[PROVISIONED_BY] === LVM_PROVISIONER && pv.spec.claimRef?.namespace === namespace && pv.spec.claimRef?.name === name);

    for (const pv of ours) {
      if (claim && claim.metadata.uid === pv.spec.claimRef?.uid) continue;
      if (pv.spec.persistentVolumeReclaimPolicy !== 'Delete') continue;
      await this.onHost(runtime.name, spec, pv.metadata.annotations?.[NODE_ANNOTATION] ?? '', pv.metadata.annotations?.[STORAGE_CLUSTER_ANNOTATION] ?? '', runtime, signal, (host) => removeVolume(host, pv.metadata.name));
      await runtime.client.delete('persistentvolumes', undefined, pv.metadata.name);
    }

    if (!claim || claim.spec.storageClassName !== LVM_STORAGE_CLASS || claim.metadata.deletionTimestamp) return {};
    const volumeName = volumeNameOf(claim.metadata.uid ?? '');
    const existing = ours.find((pv) => pv.metadata.name === volumeName);
    const node = existing?.metadata.annotations?.[NODE_ANNOTATION] ?? claim.metadata.annotations?.[SELECTED_NODE];
    if (!node) return {};
    const storageCluster = runtime.cache.informer<StorageClusterObject>('storageclusters')?.store.list().find((sc) => sc.spec.storageType === 'lvm' && !sc.metadata.deletionTimestamp);
    if (!storageCluster?.status?.config?.some((c) => c.nodeName === node)) {
      await this.warn(runtime, claim, `node ${node} is not a host of an lvm storage cluster`);
      return { requeueAfterMs: RETRY_MS };
    }
    if (claim.spec.volumeMode === 'Block') {
      await this.warn(runtime, claim, `${LVM_STORAGE_CLASS} gives file systems only (volumeMode Filesystem)`);
      return {};
    }
    const requested = parseQuantity(claim.spec.resources?.requests?.storage ?? '0');
    const outcome = await this.onHost(runtime.name, spec, node, storageCluster.metadata.name, runtime, signal, (host) => ensureVolume(host, volumeName, requested));
    if (!outcome.created) {
      await this.warn(runtime, claim, outcome.reason);
      return { requeueAfterMs: RETRY_MS };
    }
    if (!existing) {
      const hostname = runtime.cache.informer('nodes')?.store.get(undefined, node)?.metadata.labels?.['kubernetes.io/hostname'] ?? node;
      await runtime.client.create('persistentvolumes', {
        metadata: { name: volumeName, annotations: { [PROVISIONED_BY]: LVM_PROVISIONER, [NODE_ANNOTATION]: node, [STORAGE_CLUSTER_ANNOTATION]: storageCluster.metadata.name } },
        spec: {
          capacity: { storage: String(outcome.size) },
          accessModes: claim.spec.accessModes ?? ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: LVM_STORAGE_CLASS,
          volumeMode: 'Filesystem',
          local: { path: outcome.path, fsType: 'ext4' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [hostname] }] }] } },
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid: claim.metadata.uid },
        },
      });
    }
    return { requeueAfterMs: VOLUME_CHECK_MS };
  }

  private async onHost<T>(cluster: string, spec: ProvisionedClusterSpec, nodeName: string, storageCluster: string, runtime: ClusterRuntime, signal: AbortSignal, work: (host: HostVolumeGroup) => Promise<T>): Promise<T> {
    const node = spec.nodes.find((n) => n.name === nodeName);
    if (!node) throw new Error(`${nodeName} is not a host of cluster ${cluster}`);
    const sc = runtime.cache.informer<StorageClusterObject>('storageclusters')?.store.get(undefined, storageCluster);
    const devices = sc?.status?.config?.find((c) => c.nodeName === nodeName)?.blockDevices.map((d) => d.name) ?? [];
    if (!devices.length) throw new Error(`storage cluster ${storageCluster} records no devices on ${nodeName}`);
    return onProvisionedHost(cluster, spec, node, { journal: this.options.journal, timeoutMs: this.options.callTimeoutMs ?? 120_000, signal }, (docker, call) => work({ docker, call, storageCluster, devices }));
  }

  /** A Warning event on the claim (`kubectl describe pvc` shows it); one per distinct message. */
  private async warn(runtime: ClusterRuntime, claim: ClaimObject, message: string): Promise<void> {
    const { namespace, name, uid } = claim.metadata;
    this.options.logger.warn('volume not provisioned', { cluster: runtime.name, claim: `${namespace}/${name}`, error: message });
    const now = new Date().toISOString();
    const id = createHash('sha1').update(`${uid}/${message}`).digest('hex').slice(0, 12);
    try {
      await runtime.client.create('events', {
        metadata: { name: `${name}.${id}`, namespace },
        involvedObject: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid },
        reason: 'ProvisioningFailed',
        message,
        type: 'Warning',
        source: { component: 'zcloud' },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

export function lvmProvisionerController(options: LvmProvisionerOptions): ControllerDefinition {
  return {
    name: 'lvm-provisioner',
    reconciler: new LvmProvisionerReconciler(options),
    watch: (on) => {
      on.objects('persistentvolumeclaims', (cluster, claim) =>
        options.clusters.provisioned(cluster) && (claim as ClaimObject).spec.storageClassName === LVM_STORAGE_CLASS ? keyOf(cluster, claim.metadata.namespace ?? '', claim.metadata.name) : undefined,
      );
      on.objects('persistentvolumes', (cluster, pv) => {
        const ref = (pv as VolumeObject).spec.claimRef;
        return options.clusters.provisioned(cluster) && pv.metadata.annotations?.[PROVISIONED_BY] === LVM_PROVISIONER && ref?.namespace && ref.name ? keyOf(cluster, ref.namespace, ref.name) : undefined;
      });
      on.clusters((event, cluster) => {
        if (event !== 'attached' || !options.clusters.provisioned(cluster)) return undefined;
        const claims = options.clusters.get(cluster)?.cache.informer<ClaimObject>('persistentvolumeclaims')?.store.list() ?? [];
        return claims.filter((c) => c.spec.storageClassName === LVM_STORAGE_CLASS).map((c) => keyOf(cluster, c.metadata.namespace ?? '', c.metadata.name));
      });
    },
  };
}
