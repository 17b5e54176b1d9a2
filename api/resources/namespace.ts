import { z } from 'zod';
import type { KubeObject } from '../../src/kube/kube-object.js';
import { clusterOf } from '../cluster-access.js';
import { defineResource, type ApiObject } from '../framework/resource.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { LabelNameSchema } from './shared/validation.js';

function toApi(ns: KubeObject): ApiObject {
  return {
    id: ns.metadata.name,
    name: ns.metadata.name,
    status: ns.metadata.deletionTimestamp ? 'Terminating' : 'Active',
    creationTimestamp: ns.metadata.creationTimestamp,
  };
}

export const namespaceResource = defineResource({
  kind: 'namespace',
  parents: ['cluster'],
  list: cachedHandlers('namespaces', toApi).list,
  get: cachedHandlers('namespaces', toApi).get,
  create: {
    input: z.object({ name: LabelNameSchema }),
    run: async (ctx, input) => toApi(await clusterOf(ctx).client.create('namespaces', { metadata: { name: input.name } })),
  },
  // The apiserver finalizes a namespace in the background (its objects go first): 202.
  remove: async (ctx, id) => {
    await clusterOf(ctx).client.delete('namespaces', undefined, id);
    return 'accepted';
  },
});
