import { z } from 'zod';
import type { CronJobObject } from '../../src/kube/objects.js';
import { defineResource, type ApiObject } from '../framework/resource.js';
import { LabelNameSchema } from './shared/validation.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { createChecked, removeWorkload } from './shared/workload-handlers.js';
import { JobContainersSchema, jobTemplateToApi, jobTemplateToKube, RestartPolicySchema } from './shared/workload-job.js';


/** Five cron fields (minute hour day month weekday) or a macro such as @hourly. */
const ScheduleSchema = z
  .string()
  .trim()
  .regex(/^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\S+(\s+\S+){4})$/, 'must be a cron schedule of five fields, e.g. "*/5 * * * *"');

// Job names get an 11-character suffix per run and must stay within 63: at most 52.
const CreateCronJob = z.object({
  name: LabelNameSchema.max(52, 'must be at most 52 characters'),
  containers: JobContainersSchema,
  restartPolicy: RestartPolicySchema,
  schedule: ScheduleSchema,
});
export type CronJobInput = z.infer<typeof CreateCronJob>;

const REFERENCE_FIELDS = ['apiVersion', 'fieldPath', 'kind', 'name', 'namespace', 'resourceVersion', 'uid'] as const;

export function cronJobToApi(cronJob: CronJobObject): ApiObject {
  const status = cronJob.status;
  return {
    id: cronJob.metadata.name,
    name: cronJob.metadata.name,
    schedule: cronJob.spec?.schedule ?? '',
    ...jobTemplateToApi(cronJob.spec?.jobTemplate?.spec?.template),
    status: {
      ...(status?.lastScheduleTime ? { lastScheduleTime: status.lastScheduleTime } : {}),
      objectReferences: (status?.active ?? []).map((ref) => Object.fromEntries(REFERENCE_FIELDS.filter((f) => ref[f]).map((f) => [f, ref[f]]))),
    },
    creationTimestamp: cronJob.metadata.creationTimestamp,
  };
}

/** zcloud → Kubernetes (batch/v1 or v1beta1, whichever the cluster serves: same fields). */
export function cronJobToKube(input: CronJobInput, namespace: string): CronJobObject {
  return {
    metadata: { name: input.name, namespace },
    spec: { schedule: input.schedule, jobTemplate: { spec: { template: jobTemplateToKube(input) } } },
  };
}

export const cronjobResource = defineResource({
  kind: 'cronjob',
  parents: ['namespace'],
  ...cachedHandlers<CronJobObject>('cronjobs', cronJobToApi),
  create: {
    input: CreateCronJob,
    run: async (ctx, input) => cronJobToApi(await createChecked(ctx, 'cronjobs', input.containers, () => cronJobToKube(input, ctx.parents.namespace))),
  },
  // Foreground: its jobs, and their pods, go first.
  remove: (ctx, id) => removeWorkload<CronJobObject>(ctx, 'cronjobs', 'cronjob', id, () => [], { propagationPolicy: 'Foreground' }),
});
