/** Where a kind of object lives in an apiserver. */
export interface ResourceKind {
  /** Plural resource name, e.g. `deployments`. */
  resource: string;
  /** API group; '' for the core group. */
  group: string;
  version: string;
  kind: string;
  namespaced: boolean;
  /**
   * A kind zcloud itself may install (a CustomResourceDefinition): its absence at discovery is
   * expected, its informer starts later through `ClusterCache.ensureInformer`, and its health
   * never decides whether the cluster is available.
   */
  optional?: boolean;
}

export function apiVersionOf(kind: ResourceKind): string {
  return kind.group ? `${kind.group}/${kind.version}` : kind.version;
}

/** Collection path across all namespaces (or of a cluster-scoped kind). */
export function collectionPath(kind: ResourceKind, namespace?: string): string {
  const root = kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`;
  return kind.namespaced && namespace ? `${root}/namespaces/${encodeURIComponent(namespace)}/${kind.resource}` : `${root}/${kind.resource}`;
}

export function objectPath(kind: ResourceKind, namespace: string | undefined, name: string): string {
  return `${collectionPath(kind, namespace)}/${encodeURIComponent(name)}`;
}

const core = (resource: string, kind: string, namespaced = true): ResourceKind => ({ resource, group: '', version: 'v1', kind, namespaced });
const of = (group: string, version: string, resource: string, kind: string, namespaced = true): ResourceKind => ({
  resource,
  group,
  version,
  kind,
  namespaced,
});

/**
 * Every kind zcloud caches per cluster, by a short stable name. Kinds served under several
 * versions list them newest first; the cluster cache picks the first one the apiserver serves
 * (Kubernetes 1.20 serves CronJob only as batch/v1beta1).
 */
export const CACHED_KINDS = {
  namespaces: [core('namespaces', 'Namespace', false)],
  nodes: [core('nodes', 'Node', false)],
  pods: [core('pods', 'Pod')],
  deployments: [of('apps', 'v1', 'deployments', 'Deployment')],
  replicasets: [of('apps', 'v1', 'replicasets', 'ReplicaSet')],
  statefulsets: [of('apps', 'v1', 'statefulsets', 'StatefulSet')],
  daemonsets: [of('apps', 'v1', 'daemonsets', 'DaemonSet')],
  controllerrevisions: [of('apps', 'v1', 'controllerrevisions', 'ControllerRevision')],
  jobs: [of('batch', 'v1', 'jobs', 'Job')],
  cronjobs: [of('batch', 'v1', 'cronjobs', 'CronJob'), of('batch', 'v1beta1', 'cronjobs', 'CronJob')],
  configmaps: [core('configmaps', 'ConfigMap')],
  secrets: [core('secrets', 'Secret')],
  services: [core('services', 'Service')],
  endpoints: [core('endpoints', 'Endpoints')],
  ingresses: [of('networking.k8s.io', 'v1', 'ingresses', 'Ingress'), of('networking.k8s.io', 'v1beta1', 'ingresses', 'Ingress'), of('extensions', 'v1beta1', 'ingresses', 'Ingress')],
  persistentvolumes: [core('persistentvolumes', 'PersistentVolume', false)],
  persistentvolumeclaims: [core('persistentvolumeclaims', 'PersistentVolumeClaim')],
  storageclasses: [of('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false)],
  resourcequotas: [core('resourcequotas', 'ResourceQuota')],
  limitranges: [core('limitranges', 'LimitRange')],
  events: [core('events', 'Event')],
  // CRD installed by zcloud on the first storagecluster create (src/storage/storagecluster-crd.ts).
  storageclusters: [{ ...of('storage.zcloud.cn', 'v1', 'storageclusters', 'StorageCluster', false), optional: true }],
  // CRD installed by zcloud when it attaches a cluster (src/apps/application-crd.ts).
  applications: [{ ...of('app.zcloud.cn', 'v1', 'applications', 'Application'), optional: true }],
} as const satisfies Record<string, readonly ResourceKind[]>;

export type CachedKindName = keyof typeof CACHED_KINDS;
export const CACHED_KIND_NAMES = Object.keys(CACHED_KINDS) as CachedKindName[];

/**
 * Kinds whose cached objects are compacted (compact.ts): a cluster holds thousands of them, made
 * from a few templates. Others are few, or change often with little to share (nodes post
 * status every few seconds, leader-election endpoints every two): there compacting would cost
 * CPU on every change and save little.
 */
export const COMPACTED_RESOURCES: ReadonlySet<string> = new Set(['pods', 'replicasets', 'controllerrevisions', 'jobs']);
