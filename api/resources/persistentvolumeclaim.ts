import { InputError } from '../../src/errors.js';
import type { PersistentVolumeClaimObject, PodObject } from '../../src/kube/objects.js';
import { clusterOf, readCache } from '../cluster-access.js';
import { defineResource, type ApiObject } from '../framework/resource.js';



/** A pod that mounts a claim, and the node it runs on ("" while unscheduled). */
export interface ClaimUser {
  name: string;
  node: string;
}

/**
 * Pods of `namespace` that mount `claim`. Finished pods (Succeeded/Failed) no longer hold it:
 * Kubernetes' own pvc-protection lets such a claim go, and so does zcloud.
 */
export function podsMountingClaim(pods: readonly PodObject[], claim: string): ClaimUser[] {
  return pods
    .filter((pod) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed')
    .filter((pod) => pod.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === claim))
    .map((pod) => ({ name: pod.metadata.name, node: pod.spec?.nodeName ?? '' }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Kubernetes → zcloud. Beyond the seed's fields, `pods` lists the pods mounting the claim with
 * their node (the issue asks the read side to show who uses a volume, and where); `used` (some
 * pod mounts it) and `node` (where the first of them runs, "" if none) are what the console reads.
 */
export function persistentVolumeClaimToApi(pvc: PersistentVolumeClaimObject, users: ClaimUser[]): ApiObject {
  return {
    id: pvc.metadata.name,
    name: pvc.metadata.name,
    namespace: pvc.metadata.namespace ?? '',
    storageClassName: pvc.spec?.storageClassName ?? '',
    requestStorageSize: pvc.spec?.resources?.requests?.storage ?? '',
    actualStorageSize: pvc.status?.capacity?.storage ?? '',
    status: pvc.status?.phase ?? 'Pending',
    volumeName: pvc.spec?.volumeName ?? '',
    pods: users,
    used: users.length > 0,
    node: users.find((u) => u.node !== '')?.node ?? '',
    creationTimestamp: pvc.metadata.creationTimestamp,
  };
}

export const persistentvolumeclaimResource = defineResource({
  kind: 'persistentvolumeclaim',
  parents: ['namespace'],
  list: async (ctx) => {
    const namespace = ctx.parents.namespace;
    const pods = readCache<PodObject>(ctx, 'pods').store.listNamespace(namespace);
    return readCache<PersistentVolumeClaimObject>(ctx, 'persistentvolumeclaims')
      .store.listNamespace(namespace)
      .map((pvc) => persistentVolumeClaimToApi(pvc, podsMountingClaim(pods, pvc.metadata.name)))
      .sort((a, b) => a.id.localeCompare(b.id));
  },
  get: async (ctx, id) => {
    const pvc = readCache<PersistentVolumeClaimObject>(ctx, 'persistentvolumeclaims').store.get(ctx.parents.namespace, id);
    if (!pvc) return undefined;
    const pods = readCache<PodObject>(ctx, 'pods').store.listNamespace(ctx.parents.namespace);
    return persistentVolumeClaimToApi(pvc, podsMountingClaim(pods, id));
  },
  remove: async (ctx, id) => {
    // Kubernetes would accept the delete and leave the claim Terminating until the pods go;
    // refusing up front tells the user why and keeps the claim usable.
    const pods = readCache<PodObject>(ctx, 'pods').store.listNamespace(ctx.parents.namespace);
    const users = podsMountingClaim(pods, id);
    if (users.length > 0) {
      throw new InputError(`persistentvolumeclaim ${id} is mounted by pod ${users.map((p) => p.name).join(', ')}; delete those pods first`);
    }
    await clusterOf(ctx).client.delete('persistentvolumeclaims', ctx.parents.namespace, id);
  },
});
