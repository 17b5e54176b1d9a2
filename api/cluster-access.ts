import type { ClusterRuntime } from '../src/clusters/cluster-manager.js';
import type { KubeObject } from '../src/kube/kube-object.js';
import { holdsNamespace } from '../src/auth/authorizer.js';
import { restrictToNamespaces, type ObjectReader } from '../src/kube/object-store.js';
import { CACHED_KINDS, type CachedKindName } from '../src/kube/resource-kind.js';
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
  store: ObjectReader<T>;
}

/**
 * Whose view of a namespaced kind a cluster-level read gets: `caller` (the default) shows only
 * the namespaces the caller's projects grant; `totals` shows every namespace and is only for
 * figures summed over them (node usage), never for returning objects or their names.
 */
export type ReadScope = 'caller' | 'totals';

/**
 * The views a request has resolved, by kind and scope: each kind's store is looked up (and its
 * cluster's availability checked) once per request, however many items need it. Keyed by the
 * request's context, so a view dies with its request.
 */
const viewsOfRequest = new WeakMap<RequestContext, Map<string, CacheView<KubeObject>>>();

function cacheView<T extends KubeObject>(ctx: RequestContext, kind: CachedKindName, scope: ReadScope): CacheView<T> {
  let views = viewsOfRequest.get(ctx);
  if (!views) viewsOfRequest.set(ctx, (views = new Map()));
  let view = views.get(`${kind}/${scope}`);
  if (!view) views.set(`${kind}/${scope}`, (view = scopedView(ctx, kind, scope)));
  return view as unknown as CacheView<T>;
}

function scopedView(ctx: RequestContext, kind: CachedKindName, scope: ReadScope): CacheView<KubeObject> {
  const cluster = ctx.parents.cluster;
  const view = ctx.services.clusters.availableStore<KubeObject>(cluster, kind);
  // Below a namespace the authorizer has already checked the grant. Above one (cluster-level
  // views), a caller granted only some namespaces must not see objects of the others.
  const user = ctx.user;
  if (scope === 'caller' && user && !user.isAdmin && ctx.parents.namespace === undefined && CACHED_KINDS[kind][0].namespaced) {
    return { runtime: view.runtime, store: restrictToNamespaces(view.store, (namespace) => holdsNamespace(user, cluster, namespace)) };
  }
  return view;
}

/**
 * The cache of `kind` in the request's cluster, for reading what the answer is about. Throws
 * 404/503 as the cluster guard does, and reports which resourceVersion the answer reflects
 * and how old it is.
 */
export function readCache<T extends KubeObject = KubeObject>(ctx: RequestContext, kind: CachedKindName, scope: ReadScope = 'caller'): CacheView<T> {
  const view = cacheView<T>(ctx, kind, scope);
  const freshness = view.runtime.cache.freshness(kind);
  if (freshness.resourceVersion) ctx.setHeader(FRESHNESS_HEADERS.resourceVersion, freshness.resourceVersion);
  ctx.setHeader(FRESHNESS_HEADERS.ageMs, String(freshness.ageMs));
  return view;
}

/**
 * The cache of `kind` for a lookup made while answering about another kind (the claims of a
 * deployment's volumes): the freshness headers keep describing what the answer is about.
 */
export function lookupCache<T extends KubeObject = KubeObject>(ctx: RequestContext, kind: CachedKindName, scope: ReadScope = 'caller'): ObjectReader<T> {
  return cacheView<T>(ctx, kind, scope).store;
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

/** The version of the request's cluster cache (any object of any kind changing changes it): a resource's `version`. */
export function clusterCacheVersion(ctx: RequestContext): string {
  return clusterOf(ctx).cache.contentVersion;
}
