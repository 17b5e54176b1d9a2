import yaml from 'js-yaml';
import type { KubeObject } from '../kube/kube-object.js';
import type { WorkloadObject } from '../kube/objects.js';
import type { ObjectReader } from '../kube/object-store.js';
import type { CachedKindName } from '../kube/resource-kind.js';
import { APP_RESOURCE_TYPES, type AppResource, type AppResourceType } from './application-crd.js';

/** The cache each appResource type is observed in. */
export const CACHE_OF_TYPE: Record<AppResourceType, CachedKindName> = {
  deployment: 'deployments',
  daemonset: 'daemonsets',
  statefulset: 'statefulsets',
  configmap: 'configmaps',
  secret: 'secrets',
  service: 'services',
  ingress: 'ingresses',
  cronjob: 'cronjobs',
  job: 'jobs',
};

/** Annotations helm puts on every object of a release. */
export const RELEASE_NAME_ANNOTATION = 'meta.helm.sh/release-name';
export const RELEASE_NAMESPACE_ANNOTATION = 'meta.helm.sh/release-namespace';

const WORKLOAD_TYPES: ReadonlySet<AppResourceType> = new Set(['deployment', 'statefulset', 'daemonset']);

/**
 * The objects of a release's manifest (`helm get manifest`) that the seed lists as
 * appResources, in manifest order; other kinds (RBAC, PVCs...) are helm's to track.
 */
export function appResourcesOf(manifest: string): AppResource[] {
  const out: AppResource[] = [];
  for (const doc of yaml.loadAll(manifest)) {
    const object = doc as Partial<KubeObject> | null;
    const type = object?.kind?.toLowerCase();
    const name = object?.metadata?.name;
    if (!type || !name || !(APP_RESOURCE_TYPES as readonly string[]).includes(type)) continue;
    out.push({ type: type as AppResourceType, name });
  }
  return out;
}

export type CacheLookup = (kind: CachedKindName) => ObjectReader | undefined;

/** The listed objects the caches do not hold in `namespace` (deleted outside zcloud: drift). */
export function missingResources(resources: readonly AppResource[], namespace: string, lookup: CacheLookup): AppResource[] {
  return resources.filter((r) => {
    const object = lookup(CACHE_OF_TYPE[r.type])?.get(namespace, r.name);
    return !object || Boolean(object.metadata.deletionTimestamp);
  });
}

/** Whether a Deployment, StatefulSet or DaemonSet has all its pods ready (and updated). */
export function workloadReady(type: AppResourceType, workload: WorkloadObject): boolean {
  const status = (workload.status ?? {}) as Record<string, number | undefined>;
  if (type === 'daemonset') return (status.desiredNumberScheduled ?? 0) === (status.numberReady ?? 0);
  const want = workload.spec?.replicas ?? 1;
  return (status.readyReplicas ?? 0) >= want && (status.updatedReplicas ?? 0) >= want;
}

/** How many of the listed workloads exist and how many of those are ready. */
export function readyCounts(resources: readonly AppResource[], namespace: string, lookup: CacheLookup): { workloadCount: number; readyWorkloadCount: number } {
  let workloadCount = 0;
  let readyWorkloadCount = 0;
  for (const r of resources) {
    if (!WORKLOAD_TYPES.has(r.type)) continue;
    workloadCount++;
    const object = lookup(CACHE_OF_TYPE[r.type])?.get(namespace, r.name) as WorkloadObject | undefined;
    if (object && workloadReady(r.type, object)) readyWorkloadCount++;
  }
  return { workloadCount, readyWorkloadCount };
}
