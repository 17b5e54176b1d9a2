import type { ClusterRuntime } from '../src/clusters/cluster-manager.js';
import type { KubeObject } from '../src/kube/kube-object.js';
import type { ObjectStore } from '../src/kube/object-store.js';
import type { CachedKindName } from '../src/kube/resource-kind.js';
import type { StoreReader } from '../src/views/view-sources.js';
import type { RequestContext } from './framework/resource.js';

/** Response headers of the freshness contract, on every response under a cluster. */
export const FRESHNESS_HEADERS = {
  state: 'X-Zcloud-Cluster-State',
  resourceVersion: 'X-Zcloud-Cache-Resource-Version',
  ageMs: 'X-Zcloud-Cache-Age-Ms',
} as const;

export interface CacheView<T extends KubeObject> {
  runtime: ClusterRuntime;
  store: ObjectStore<T>;
}

/**
 * The cache of `kind` in the request's cluster, for reading. Throws 404/503 as the cluster
 * guard does, and reports which resourceVersion the answer reflects and how old it is.
 */
export function readCache<T extends KubeObject = KubeObject>(ctx: RequestContext, kind: CachedKindName): CacheView<T> {
  const view = ctx.services.clusters.availableStore<T>(ctx.parents.cluster, kind);
  const freshness = view.runtime.cache.freshness(kind);
  if (freshness.resourceVersion) ctx.setHeader(FRESHNESS_HEADERS.resourceVersion, freshness.resourceVersion);
  ctx.setHeader(FRESHNESS_HEADERS.ageMs, String(freshness.ageMs));
  return view;
}

/** The request's cluster, for writing (its client waits for the cache after each write). */
export function clusterOf(ctx: RequestContext): ClusterRuntime {
  return ctx.services.clusters.requireAvailable(ctx.parents.cluster);
}

/**
 * The stores of the request's cluster, one kind at a time, for views derived from several
 * kinds; each read checks availability and sets the freshness headers like readCache.
 */
export function storeReader(ctx: RequestContext): StoreReader {
  return <T extends KubeObject = KubeObject>(kind: CachedKindName) => readCache<T>(ctx, kind).store;
}
