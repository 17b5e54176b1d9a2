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
 * The views a request has resolved, by kind: each kind's store is looked up (and its cluster's
 * availability checked) once per request, however many items need it. Keyed by the request's
 * context, so a view dies with its request.
 */
const viewsOfRequest = new WeakMap<RequestContext, Map<CachedKindName, CacheView<KubeObject>>>();

function cacheView<T extends KubeObject>(ctx: RequestContext, kind: CachedKindName): CacheView<T> {
  let views = viewsOfRequest.get(ctx);
  if (!views) viewsOfRequest.set(ctx, (views = new Map()));
  let view = views.get(kind);
  if (!view) views.set(kind, (view = ctx.services.clusters.availableStore<KubeObject>(ctx.parents.cluster, kind)));
  return view as unknown as CacheView<T>;
}

/**
 * The cache of `kind` in the request's cluster, for reading what the answer is about. Throws
 * 404/503 as the cluster guard does, and reports which resourceVersion the answer reflects
 * and how old it is.
 */
export function readCache<T extends KubeObject = KubeObject>(ctx: RequestContext, kind: CachedKindName): CacheView<T> {
  const view = cacheView<T>(ctx, kind);
  const freshness = view.runtime.cache.freshness(kind);
  if (freshness.resourceVersion) ctx.setHeader(FRESHNESS_HEADERS.resourceVersion, freshness.resourceVersion);
  ctx.setHeader(FRESHNESS_HEADERS.ageMs, String(freshness.ageMs));
  return view;
}

/**
 * The cache of `kind` for a lookup made while answering about another kind (the claims of a
 * deployment's volumes): the freshness headers keep describing what the answer is about.
 */
export function lookupCache<T extends KubeObject = KubeObject>(ctx: RequestContext, kind: CachedKindName): ObjectStore<T> {
  return cacheView<T>(ctx, kind).store;
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
