import { z } from 'zod';
import type { LimitRangeObject } from '../../src/kube/objects.js';
import { parseQuantity } from '../../src/kube/quantity.js';
import { clusterOf } from '../cluster-access.js';
import { defineResource, type ApiObject } from '../framework/resource.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { quantityMap } from './shared/quantity.js';
import { ObjectNameSchema } from './shared/validation.js';


const LIMIT_RESOURCES = ['cpu', 'memory'] as const;
const LimitsSchema = quantityMap(LIMIT_RESOURCES);

/**
 * zcloud's limit range bounds each container of the namespace: `min.x` may not exceed `max.x`
 * (checked here so the 422 names our field rather than the apiserver's `spec.limits[0]`).
 */
export const CreateLimitRange = z
  .object({ name: ObjectNameSchema, max: LimitsSchema, min: LimitsSchema })
  .superRefine((input, ctx) => {
    for (const resource of LIMIT_RESOURCES) {
      const [min, max] = [input.min[resource], input.max[resource]];
      if (min !== undefined && max !== undefined && parseQuantity(min) > parseQuantity(max)) {
        ctx.addIssue({ code: 'custom', path: ['min', resource], message: `must not exceed max.${resource} (${max})` });
      }
    }
  });

export type LimitRangeInput = z.infer<typeof CreateLimitRange>;

/** Kubernetes → zcloud: the Container item's max/min (other item types are not zcloud's). */
export function limitRangeToApi(lr: LimitRangeObject): ApiObject {
  const container = lr.spec?.limits?.find((item) => item.type === 'Container');
  return {
    id: lr.metadata.name,
    name: lr.metadata.name,
    max: { ...(container?.max ?? {}) },
    min: { ...(container?.min ?? {}) },
    creationTimestamp: lr.metadata.creationTimestamp,
  };
}

/** zcloud → Kubernetes: one `Container` limit item. */
export function limitRangeToKube(input: LimitRangeInput, namespace: string): LimitRangeObject {
  return {
    metadata: { name: input.name, namespace },
    spec: { limits: [{ type: 'Container', max: { ...input.max }, min: { ...input.min } }] },
  };
}

/** Create/list/get/delete as the seed declares; a limit range is replaced by delete + create. */
export const limitrangeResource = defineResource({
  kind: 'limitrange',
  parents: ['namespace'],
  ...cachedHandlers('limitranges', limitRangeToApi),
  create: {
    input: CreateLimitRange,
    run: async (ctx, input) => limitRangeToApi(await clusterOf(ctx).client.create('limitranges', limitRangeToKube(input, ctx.parents.namespace))),
  },
});
