import { z } from 'zod';
import { ConflictError } from '../../src/errors.js';
import type { KubeObject } from '../../src/kube/kube-object.js';
import { namespaceRequests, type RequestFigures } from '../../src/clusters/cluster-metrics.js';
import type { PodObject } from '../../src/kube/objects.js';
import { clusterCacheVersion, clusterOf, lookupCache, readCache } from '../cluster-access.js';
import { defineResource, type ApiObject, type RequestContext } from '../framework/resource.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { LabelNameSchema } from './shared/validation.js';

/**
 * Kubernetes → zcloud. Beyond the seed: what the namespace's running pods request
 * (`cpuUsed` millicores, `memoryUsed` bytes, `podUsed`), from the cache; the console shows it.
 */
function toApi(ns: KubeObject, ctx: RequestContext): ApiObject {
  return {
    id: ns.metadata.name,
    name: ns.metadata.name,
    status: ns.metadata.deletionTimestamp ? 'Terminating' : 'Active',
    ...(ns.metadata.deletionTimestamp ? { deletionTimestamp: ns.metadata.deletionTimestamp } : {}),
    ...namespaceFigures(ctx, ns.metadata.name),
    creationTimestamp: ns.metadata.creationTimestamp,
  };
}

/**
 * Over all the namespace's pods ('totals': a caller sees a namespace only where it may see all
 * its pods), kept per namespace by the pod store: a lookup, not a pass over the pods.
 */
function namespaceFigures(ctx: RequestContext, namespace: string): RequestFigures {
  return namespaceRequests(lookupCache<PodObject>(ctx, 'pods', 'totals'), namespace);
}

function isTerminating(ctx: RequestContext, id: string): boolean {
  return Boolean(readCache(ctx, 'namespaces').store.get(undefined, id)?.metadata.deletionTimestamp);
}

export const namespaceResource = defineResource({
  kind: 'namespace',
  parents: ['cluster'],
  list: cachedHandlers('namespaces', toApi).list,
  get: cachedHandlers('namespaces', toApi).get,
  watch: cachedHandlers('namespaces', toApi).watch,
  version: clusterCacheVersion,
  create: {
    input: z.object({ name: LabelNameSchema }),
    run: async (ctx, input) => toApi(await clusterOf(ctx).client.create('namespaces', { metadata: { name: input.name } }), ctx),
  },
  // The apiserver finalizes a namespace in the background (its objects go first); GET shows it
  // Terminating with its deletionTimestamp until it is gone. A DELETE of a namespace already
  // terminating is a 409 from the apiserver; clients poll with DELETE until 404, so it is 204.
  remove: async (ctx, id) => {
    try {
      await clusterOf(ctx).client.delete('namespaces', undefined, id);
    } catch (err) {
      if (!(err instanceof ConflictError && isTerminating(ctx, id))) throw err;
    }
  },
});
