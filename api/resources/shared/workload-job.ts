import { z } from 'zod';
import type { PodTemplate } from '../../../src/kube/objects.js';
import { containersToApi, podTemplateToKube, type ContainerInput, type ContainerView } from '../../../src/workloads/pod-template.js';
import { containersSchema } from './pod-template-input.js';
import { conditionsToApi, countersOf } from './workload-translation.js';

/**
 * The run-to-completion part jobs and cronjobs share: containers mounting configmaps and
 * secrets only, a restartPolicy of OnFailure or Never, and the Job status.
 */
export const RESTART_POLICIES = ['OnFailure', 'Never'] as const;

export const JobContainersSchema = containersSchema({ protocols: ['tcp', 'udp'], protocolRequired: false, volumeTypes: ['configmap', 'secret'] });

export interface JobTemplateInput {
  name: string;
  containers: ContainerInput[];
  restartPolicy: (typeof RESTART_POLICIES)[number];
}


/** The pod template of a job (also a cronjob's job template), labelled `app=<name>`. */
export function jobTemplateToKube(input: JobTemplateInput): PodTemplate {
  return podTemplateToKube(input.containers, { workload: input.name, claimVolume: () => undefined, restartPolicy: input.restartPolicy });
}

export function jobTemplateToApi(template: PodTemplate | undefined): { containers: ContainerView[]; restartPolicy: string } {
  return { containers: containersToApi(template), restartPolicy: template?.spec?.restartPolicy ?? '' };
}

/** A Job's status as zcloud reports it (the seed's jobStatus). */
export function jobStatusToApi(status: Record<string, unknown> | undefined): Record<string, unknown> {
  const time = (key: string) => (typeof status?.[key] === 'string' ? { [key]: status[key] } : {});
  return {
    ...countersOf(status, ['active', 'succeeded', 'failed']),
    ...time('startTime'),
    ...time('completionTime'),
    jobConditions: conditionsToApi(status?.conditions),
  };
}

export const RestartPolicySchema = z.enum(RESTART_POLICIES);
