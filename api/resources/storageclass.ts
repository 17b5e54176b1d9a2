import type { StorageClassObject } from '../../src/kube/objects.js';
import { defineResource, type ApiObject } from '../framework/resource.js';
import { clusterCacheVersion } from '../cluster-access.js';
import { cachedHandlers } from './shared/cached-handlers.js';


const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

/**
 * Kubernetes → zcloud. The seed lists no fields for storage classes; besides the name, zcloud
 * reports the provisioner and whether claims without a class get this one (the questions a
 * user choosing a class asks).
 */
export function storageClassToApi(sc: StorageClassObject): ApiObject {
  return {
    id: sc.metadata.name,
    name: sc.metadata.name,
    provisioner: sc.provisioner ?? '',
    isDefault: sc.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true',
    creationTimestamp: sc.metadata.creationTimestamp,
  };
}

/** List only, as the seed declares: classes are the cluster operator's business. */
export const storageclassResource = defineResource({
  kind: 'storageclass',
  parents: ['cluster'],
  list: cachedHandlers('storageclasses', storageClassToApi).list,
  version: clusterCacheVersion,
});
