import { z } from 'zod';
import type { JobObject } from '../../src/kube/objects.js';
import { defineResource, type ApiObject } from '../framework/resource.js';
import { LabelNameSchema } from './shared/validation.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { createChecked, removeWorkload } from './shared/workload-handlers.js';
import { JobContainersSchema, jobStatusToApi, jobTemplateToApi, jobTemplateToKube, RestartPolicySchema } from './shared/workload-job.js';

// A job's name becomes the job-name label of its pods: a DNS label.
const CreateJob = z.object({ name: LabelNameSchema, containers: JobContainersSchema, restartPolicy: RestartPolicySchema });
export type JobInput = z.infer<typeof CreateJob>;

export function jobToApi(job: JobObject): ApiObject {
  return {
    id: job.metadata.name,
    name: job.metadata.name,
    ...jobTemplateToApi(job.spec?.template),
    status: jobStatusToApi(job.status),
    creationTimestamp: job.metadata.creationTimestamp,
  };
}

/** zcloud → Kubernetes; the apiserver generates the selector (controller-uid). */
export function jobToKube(input: JobInput, namespace: string): JobObject {
  return { metadata: { name: input.name, namespace }, spec: { template: jobTemplateToKube(input) } };
}

export const jobResource = defineResource({
  kind: 'job',
  parents: ['namespace'],
  ...cachedHandlers<JobObject>('jobs', jobToApi),
  create: {
    input: CreateJob,
    run: async (ctx, input) => jobToApi(await createChecked(ctx, 'jobs', input.containers, () => jobToKube(input, ctx.parents.namespace))),
  },
  // Foreground: the job is gone only once its pods are.
  remove: (ctx, id) => removeWorkload<JobObject>(ctx, 'jobs', 'job', id, () => [], { propagationPolicy: 'Foreground' }),
});
