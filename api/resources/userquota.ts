import { z } from 'zod';
import { isQuantity } from '../../src/kube/quantity.js';
import type { UserQuotaRecord } from '../../src/quotas/user-quota.js';
import { defineAction, defineResource, type ApiObject } from '../framework/resource.js';
import { LabelNameSchema } from './shared/validation.js';

const Quantity = z.string().refine(isQuantity, 'must be a Kubernetes quantity such as 500m, 2, 4Gi');

const QuotaFields = {
  namespace: LabelNameSchema,
  cpu: Quantity,
  memory: Quantity,
  storage: Quantity,
  purpose: z.string().min(1, 'is required'),
  requestor: z.string().optional(),
  telephone: z.string().optional(),
};
const CreateQuota = z.object(QuotaFields);
/** The seed lists clusterName on update; it may only repeat the cluster already granted. */
const UpdateQuota = z.object({ ...QuotaFields, clusterName: z.string().optional() });

export function userQuotaToApi(r: UserQuotaRecord): ApiObject {
  return {
    id: r.id,
    name: r.namespace,
    namespace: r.namespace,
    userName: r.userName,
    cpu: r.requested.cpu,
    memory: r.requested.memory,
    storage: r.requested.storage,
    purpose: r.purpose,
    requestor: r.requestor ?? '',
    telephone: r.telephone ?? '',
    status: r.status,
    requestType: r.requestType,
    clusterName: r.approved?.clusterName ?? '',
    rejectionReason: r.rejectionReason ?? '',
    responseTimestamp: r.responseTimestamp ?? null,
    creationTimestamp: r.creationTimestamp,
    // Beyond the seed: whether the cluster already matches the decision, and what happens now.
    applied: r.applied,
    message: r.message,
  };
}

/** Who sees what is the authorizer's call (admin: all; a user: its own requests). */
export const userquotaResource = defineResource({
  kind: 'userquota',
  list: async (ctx) => (await ctx.services.quotas.list()).map(userQuotaToApi),
  get: async (ctx, id) => {
    const record = await ctx.services.quotas.get(id);
    return record && userQuotaToApi(record);
  },
  create: {
    input: CreateQuota,
    run: async (ctx, input) => userQuotaToApi(await ctx.services.quotas.create(ctx.requireUser().name, input)),
  },
  update: {
    input: UpdateQuota,
    run: async (ctx, id, input) => userQuotaToApi(await ctx.services.quotas.update(ctx.requireUser().name, id, input)),
  },
  // The namespace and grant are removed by the reconciler, possibly after a cluster returns.
  remove: async (ctx, id) => {
    await ctx.services.quotas.delete(id);
  },
  actions: {
    approval: defineAction({
      input: z.object({ clusterName: z.string().min(1, 'is required') }),
      run: async (ctx, id, input) => userQuotaToApi(await ctx.services.quotas.approve(id, input.clusterName)),
    }),
    reject: defineAction({
      input: z.object({ reason: z.string().trim().min(1, 'is required') }),
      run: async (ctx, id, input) => userQuotaToApi(await ctx.services.quotas.reject(id, input.reason)),
    }),
  },
});
