import type { ObjectMeta } from '../../../src/kube/kube-object.js';
import type { PersistentVolumeClaimObject, PodTemplate, WorkloadObject } from '../../../src/kube/objects.js';
import {
  advancedOptionsAnnotations,
  advancedOptionsOf,
  AdvancedOptionsSchema,
  normalizeAdvancedOptions,
  templateAnnotations,
  type AdvancedOptionsInput,
  type ConfigLookup,
} from '../../../src/workloads/options.js';
import { containersToApi, podTemplateToKube, type ClaimVolume, type ContainerInput, type PersistentVolumeInput } from '../../../src/workloads/pod-template.js';
import { persistentVolumesToApi } from '../../../src/workloads/storage.js';
import type { ApiObject } from '../../framework/resource.js';
import { containersSchema, PersistentVolumesSchema } from './pod-template-input.js';
import { LabelNameSchema } from './validation.js';

/**
 * The translation pair parts deployment, statefulset and daemonset share: the workload's
 * metadata (advancedOptions annotation), its pod template, and the fields every one of them
 * reports. Each kind adds its own spec fields and status.
 */

/** What zcloud accepts for any of deployment, statefulset, daemonset. */
export interface WorkloadInput {
  name: string;
  containers: ContainerInput[];
  persistentVolumes?: PersistentVolumeInput[];
  advancedOptions?: AdvancedOptionsInput;
}

/** Metadata, selector and pod template of a new workload. */
export function workloadToKube(
  input: WorkloadInput,
  namespace: string,
  claimVolume: ClaimVolume,
  lookup: ConfigLookup,
): { metadata: ObjectMeta; selector: { matchLabels: Record<string, string> }; template: PodTemplate } {
  const options = normalizeAdvancedOptions(input.advancedOptions);
  const build = (annotations?: Record<string, string>): PodTemplate =>
    podTemplateToKube(input.containers, { workload: input.name, persistentVolumes: input.persistentVolumes, claimVolume, annotations });
  // The config hash is computed over the volumes of the template, so build it twice.
  const template = build(templateAnnotations(options, build(), lookup));
  return {
    metadata: { name: input.name, namespace, annotations: advancedOptionsAnnotations(options) },
    selector: { matchLabels: { app: input.name } },
    template,
  };
}

/** id, name, containers, persistentVolumes, advancedOptions and creationTimestamp of a workload. */
export function workloadToApi(object: WorkloadObject, claimOf: (name: string) => PersistentVolumeClaimObject | undefined): ApiObject {
  const template = object.spec?.template;
  const claimTemplates = object.spec?.volumeClaimTemplates ?? [];
  return {
    id: object.metadata.name,
    name: object.metadata.name,
    containers: containersToApi(
      template,
      claimTemplates.map((c) => c.metadata.name),
    ),
    persistentVolumes: persistentVolumesToApi(template, claimOf, claimTemplates),
    advancedOptions: advancedOptionsOf(object),
    creationTimestamp: object.metadata.creationTimestamp,
  };
}

interface KubeCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string;
}

/** A status's conditions as zcloud reports them (the Kubernetes fields, absent ones left out). */
export function conditionsToApi(conditions: unknown): KubeCondition[] {
  if (!Array.isArray(conditions)) return [];
  return (conditions as KubeCondition[]).map((c) => {
    const out: KubeCondition = { type: c.type ?? '', status: c.status ?? 'Unknown' };
    for (const key of ['reason', 'message', 'lastTransitionTime', 'lastUpdateTime', 'lastProbeTime'] as const) if (c[key]) out[key] = c[key];
    return out;
  });
}

/** Integer status counters: each named field, 0 when the controller has not set it yet. */
export function countersOf(status: Record<string, unknown> | undefined, fields: readonly string[]): Record<string, number> {
  return Object.fromEntries(fields.map((f) => [f, typeof status?.[f] === 'number' ? (status[f] as number) : 0]));
}

/**
 * Create input fields of a deployment, statefulset or daemonset: name (a DNS label, as it
 * becomes the `app` label), containers, persistentVolumes, advancedOptions. Each kind adds its
 * own and refines the whole with checkPersistentVolumeReferences.
 */
export function workloadShape(containers: ReturnType<typeof containersSchema>) {
  return {
    name: LabelNameSchema,
    containers,
    persistentVolumes: PersistentVolumesSchema.optional(),
    advancedOptions: AdvancedOptionsSchema.optional(),
  };
}
