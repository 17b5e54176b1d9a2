import { z } from 'zod';
import type { ResourceQuotaObject } from '../../src/kube/objects.js';
import { clusterOf } from '../cluster-access.js';
import { defineResource, type ApiObject } from '../framework/resource.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { quantityMap } from './shared/quantity.js';
import { ObjectNameSchema } from './shared/validation.js';


const QUOTA_RESOURCES = ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory', 'requests.storage'] as const;

/** `limits` is optional in the seed: a quota without it limits nothing (but still counts usage). */
export const CreateResourceQuota = z.object({ name: ObjectNameSchema, limits: quantityMap(QUOTA_RESOURCES).optional() });

export type ResourceQuotaInput = z.infer<typeof CreateResourceQuota>;

/**
 * Kubernetes → zcloud: `limits` is what was asked for (spec.hard); `status` is what the quota
 * controller enforces and has counted (status.hard, status.used). Status stays empty until the
 * controller has seen the quota, usually within a second.
 */
export function resourceQuotaToApi(rq: ResourceQuotaObject): ApiObject {
  return {
    id: rq.metadata.name,
    name: rq.metadata.name,
    limits: { ...(rq.spec?.hard ?? {}) },
    status: { limits: { ...(rq.status?.hard ?? {}) }, used: { ...(rq.status?.used ?? {}) } },
    creationTimestamp: rq.metadata.creationTimestamp,
  };
}

export function resourceQuotaToKube(input: ResourceQuotaInput, namespace: string): ResourceQuotaObject {
  return { metadata: { name: input.name, namespace }, spec: { hard: { ...(input.limits ?? {}) } } };
}

/** Create/list/get/delete as the seed declares; a quota is replaced by delete + create. */
export const resourcequotaResource = defineResource({
  kind: 'resourcequota',
  parents: ['namespace'],
  ...cachedHandlers('resourcequotas', resourceQuotaToApi),
  create: {
    input: CreateResourceQuota,
    run: async (ctx, input) =>
      resourceQuotaToApi(await clusterOf(ctx).client.create('resourcequotas', resourceQuotaToKube(input, ctx.parents.namespace))),
  },
});
