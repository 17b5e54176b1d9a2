import type { KubeObject } from '../../src/kube/kube-object.js';
import { BLOCK_DEVICES_ANNOTATION } from '../../src/storage/block-devices.js';
import type { StorageClusterObject } from '../../src/storage/storagecluster-crd.js';

/** A node with `roles` and, unless undefined, the block-device annotation. */
export function node(name: string, annotation?: string, roles: string[] = []): KubeObject {
  return {
    metadata: {
      name,
      labels: Object.fromEntries(roles.map((r) => [`node-role.kubernetes.io/${r}`, 'true'])),
      ...(annotation === undefined ? {} : { annotations: { [BLOCK_DEVICES_ANNOTATION]: annotation } }),
    },
  };
}

/** A StorageCluster as the apiserver would hold it, without status. */
export function storageCluster(name: string, storageType: 'lvm' | 'ceph', hosts: string[]): StorageClusterObject {
  return { metadata: { name }, spec: { storageType, hosts } };
}
