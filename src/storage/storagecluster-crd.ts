import type { ClusterRuntime } from '../clusters/cluster-manager.js';
import { ClusterUnavailableError } from '../errors.js';
import type { Informer } from '../kube/informer.js';
import { translateKubeError } from '../kube/kube-errors.js';
import { KubeApiError } from '../kube/kube-http.js';
import type { KubeObject } from '../kube/kube-object.js';

export const STORAGE_TYPES = ['lvm', 'ceph'] as const;
export type StorageType = (typeof STORAGE_TYPES)[number];

export interface StorageDevice {
  name: string;
  size: string;
}

/** Devices of one node a storage cluster uses (or could use). */
export interface StorageConfig {
  nodeName: string;
  blockDevices: StorageDevice[];
}

export interface StorageNodeStatus {
  name: string;
  size: string;
  usedSize: string;
  freeSize: string;
  /** Whether the node's storage service is up. */
  stat: boolean;
}

export interface StoragePvStatus {
  name: string;
  size: string;
  usedSize: string;
  freeSize: string;
  node: string;
  pods: Array<{ name: string }>;
}

/**
 * The StorageCluster custom resource (cluster-scoped, storage.zcloud.cn/v1). zcloud writes the
 * spec; `status` belongs to the storage operator running in the cluster (none writes it yet:
 * see docs/storage.md), written through the status subresource so spec writes never clobber it.
 */
export interface StorageClusterObject extends KubeObject {
  spec: { storageType: StorageType; hosts: string[] };
  status?: {
    phase?: string;
    size?: string;
    usedSize?: string;
    freeSize?: string;
    nodes?: StorageNodeStatus[];
    config?: StorageConfig[];
    pvs?: StoragePvStatus[];
  };
}

const str = { type: 'string' } as const;
const sizes = { size: str, usedSize: str, freeSize: str } as const;
const devices = {
  type: 'array',
  items: { type: 'object', properties: { nodeName: str, blockDevices: { type: 'array', items: { type: 'object', properties: { name: str, size: str } } } } },
} as const;

export const STORAGE_CLUSTER_CRD_NAME = 'storageclusters.storage.zcloud.cn';

/**
 * The CustomResourceDefinition zcloud installs in a cluster on the first storagecluster create.
 * deploy/crds/storagecluster.yaml is the same object as YAML, for operators who install it
 * themselves; a unit test keeps the two equal.
 */
export const storageClusterCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: STORAGE_CLUSTER_CRD_NAME },
  spec: {
    group: 'storage.zcloud.cn',
    scope: 'Cluster',
    names: { plural: 'storageclusters', singular: 'storagecluster', kind: 'StorageCluster', listKind: 'StorageClusterList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Type', type: 'string', jsonPath: '.spec.storageType' },
          { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
          { name: 'Size', type: 'string', jsonPath: '.status.size' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['storageType', 'hosts'],
                properties: {
                  storageType: { type: 'string', enum: [...STORAGE_TYPES] },
                  hosts: { type: 'array', items: str },
                },
              },
              status: {
                type: 'object',
                properties: {
                  phase: str,
                  ...sizes,
                  nodes: { type: 'array', items: { type: 'object', properties: { name: str, ...sizes, stat: { type: 'boolean' } } } },
                  config: devices,
                  pvs: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: { name: str, ...sizes, node: str, pods: { type: 'array', items: { type: 'object', properties: { name: str } } } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

const CRD_COLLECTION = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/**
 * The synced cache of StorageCluster objects in `runtime`'s cluster, installing the CRD first
 * when the cluster does not serve the kind yet. Idempotent: a CRD installed already (by an
 * earlier call, another zcloud, or an operator) is used as it is.
 * Throws ClusterUnavailableError when the apiserver does not start serving the kind in time.
 */
export async function ensureStorageClusterCache(runtime: ClusterRuntime): Promise<Informer<StorageClusterObject>> {
  const cached = runtime.cache.informer<StorageClusterObject>('storageclusters');
  if (cached?.hasSynced) return cached;
  const what = `install the StorageCluster CRD in cluster ${runtime.name}`;
  try {
    if (!cached) await runtime.http.request('POST', CRD_COLLECTION, { body: storageClusterCrd, signal: runtime.signal });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 409)) throw translateKubeError(err, what);
  }
  let informer: Informer<StorageClusterObject> | undefined;
  try {
    informer = await runtime.cache.ensureInformer<StorageClusterObject>('storageclusters');
  } catch (err) {
    throw translateKubeError(err, `discover storageclusters in cluster ${runtime.name}`);
  }
  if (!informer) throw new ClusterUnavailableError(`${what}: the cluster does not serve storageclusters yet`);
  return informer;
}
