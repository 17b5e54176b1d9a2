import type { KubeObject } from '../../../src/kube/kube-object.js';
import type { CachedKindName } from '../../../src/kube/resource-kind.js';
import { clusterCacheVersion, clusterOf, readCache } from '../../cluster-access.js';
import { watchSource, type ApiObject, type RequestContext } from '../../framework/resource.js';

/**
 * list/get/remove for a kind whose zcloud view is a translation of one Kubernetes object:
 * reads come from the request cluster's cache (the request's namespace for namespaced kinds,
 * the whole store for cluster-level ones), lists are in name order, and remove deletes in the
 * cluster and waits for the cache. The freshness headers describe this kind's cache; `toApi`
 * may look other kinds up through the request (lookupCache), resolved once per request.
 * Spread what the resource declares: `...h` or `list: h.list`; a resource's own `remove` after
 * the spread replaces this one. `version` is the cluster cache's: `toApi` must read nothing but
 * the request cluster's cache and what never changes while zcloud runs (the chart catalogue).
 */
export function cachedHandlers<T extends KubeObject>(kind: CachedKindName, toApi: (object: T, ctx: RequestContext) => ApiObject) {
  return {
    list: async (ctx: RequestContext): Promise<ApiObject[]> => {
      const { store } = readCache<T>(ctx, kind);
      const namespace = ctx.parents.namespace;
      const objects = namespace === undefined ? store.list() : store.listNamespace(namespace);
      return objects.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)).map((object) => toApi(object, ctx));
    },
    get: async (ctx: RequestContext, id: string): Promise<ApiObject | undefined> => {
      const object = readCache<T>(ctx, kind).store.get(ctx.parents.namespace, id);
      return object && toApi(object, ctx);
    },
    remove: async (ctx: RequestContext, id: string): Promise<void> => {
      await clusterOf(ctx).client.delete(kind, ctx.parents.namespace, id);
    },
    watch: watchSource(kind, toApi),
    version: clusterCacheVersion,
  };
}
