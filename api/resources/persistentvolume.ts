import type { PersistentVolumeObject } from '../../src/kube/objects.js';
import { defineResource, type ApiObject } from '../framework/resource.js';
import { cachedHandlers } from './shared/cached-handlers.js';


/** Kubernetes → zcloud. `claimRef` is null while no claim has been bound or reserved. */
export function persistentVolumeToApi(pv: PersistentVolumeObject): ApiObject {
  const claim = pv.spec?.claimRef;
  return {
    id: pv.metadata.name,
    name: pv.metadata.name,
    storageSize: pv.spec?.capacity?.storage ?? '',
    storageClassName: pv.spec?.storageClassName ?? '',
    status: pv.status?.phase ?? 'Pending',
    claimRef: claim ? { kind: claim.kind ?? 'PersistentVolumeClaim', name: claim.name ?? '', namespace: claim.namespace ?? '' } : null,
    creationTimestamp: pv.metadata.creationTimestamp,
  };
}

/**
 * Cluster-level: any user with a project in the cluster may read; only admin may delete (the
 * authorizer denies cluster-level writes to everyone else).
 */
export const persistentvolumeResource = defineResource({
  kind: 'persistentvolume',
  parents: ['cluster'],
  ...cachedHandlers('persistentvolumes', persistentVolumeToApi),
});
