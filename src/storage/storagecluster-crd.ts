import type { ClusterRuntime } from '../clusters/cluster-manager.js';
import { ensureCustomResourceCache } from '../kube/custom-resource.js';
import type { Informer } from '../kube/informer.js';
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
  /** What the volume's file system uses; absent when the operator cannot tell (zcloud's lvm). */
  usedSize?: string;
  freeSize?: string;
  node: string;
  pods: Array<{ name: string }>;
}

/**
 * The StorageCluster custom resource (cluster-scoped, storage.zcloud.cn/v1). zcloud's API writes
 * the spec; `status` belongs to the storage operator: on clusters zcloud provisions, zcloud's own
 * storage-cluster controller (over SSH); elsewhere one running in the cluster (see
 * docs/storage.md). Written through the status subresource so spec writes never clobber it.
 */
export interface StorageClusterObject extends KubeObject {
  spec: {
    storageType: StorageType;
    hosts: string[];
    /** The devices to take, by host; a host not named here gives every device it reports usable. */
    devices?: Record<string, string[]>;
  };
  status?: {
    phase?: string;
    /** Why the phase is Failed, or what the operator waits for. */
    message?: string;
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
                  devices: { type: 'object', additionalProperties: { type: 'array', items: str } },
                },
              },
              status: {
                type: 'object',
                properties: {
                  phase: str,
                  message: str,
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

/**
 * The synced cache of StorageCluster objects in `runtime`'s cluster, installing the CRD first
 * when the cluster does not serve the kind yet (see ensureCustomResourceCache).
 */
export function ensureStorageClusterCache(runtime: ClusterRuntime): Promise<Informer<StorageClusterObject>> {
  return ensureCustomResourceCache<StorageClusterObject>(runtime, 'storageclusters', storageClusterCrd);
}
