import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { KubeObject } from '../kube/kube-object.js';
import type { PodTemplate } from '../kube/objects.js';
import { referencedSources } from './pod-template.js';

/**
 * A workload's advancedOptions: kept whole in an annotation of the workload (the source of
 * truth for reads), and carried out through pod template annotations (Prometheus scraping,
 * config hash) and by the delete handler (deletePVsWhenDeleteWorkload).
 */
export const ADVANCED_OPTIONS_ANNOTATION = 'zcloud.cn/advanced-options';
/**
 * Pod template annotation holding a hash of the configmaps and secrets the pods mount. A change
 * of the hash changes the template, so the workload controller rolls the pods
 * (controllers/config-reload.ts keeps it current).
 */
export const CONFIG_HASH_ANNOTATION = 'zcloud.cn/config-hash';
/** The annotation `kubectl rollout history` shows as CHANGE-CAUSE. */
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';

const DEFAULT_METRIC_PATH = '/metrics';

export const AdvancedOptionsSchema = z.object({
  deletePVsWhenDeleteWorkload: z.boolean().optional(),
  exposedMetric: z
    .object({
      port: z.number().int().min(1).max(65535),
      path: z.string().startsWith('/', 'must be an absolute path').optional(),
    })
    .optional(),
  reloadWhenConfigChange: z.boolean().optional(),
});
export type AdvancedOptionsInput = z.infer<typeof AdvancedOptionsSchema>;

/** What reads report: every flag spelled out, the metric path defaulted. */
export interface AdvancedOptions {
  deletePVsWhenDeleteWorkload: boolean;
  reloadWhenConfigChange: boolean;
  exposedMetric?: { port: number; path: string };
}

export function normalizeAdvancedOptions(input: AdvancedOptionsInput | undefined): AdvancedOptions {
  const out: AdvancedOptions = {
    deletePVsWhenDeleteWorkload: input?.deletePVsWhenDeleteWorkload ?? false,
    reloadWhenConfigChange: input?.reloadWhenConfigChange ?? false,
  };
  if (input?.exposedMetric) out.exposedMetric = { port: input.exposedMetric.port, path: input.exposedMetric.path ?? DEFAULT_METRIC_PATH };
  return out;
}

/** The options recorded on `workload`; all off when absent or unreadable (edited by hand). */
export function advancedOptionsOf(workload: KubeObject): AdvancedOptions {
  const text = workload.metadata.annotations?.[ADVANCED_OPTIONS_ANNOTATION];
  if (!text) return normalizeAdvancedOptions(undefined);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return normalizeAdvancedOptions(undefined);
    throw err;
  }
  const result = AdvancedOptionsSchema.safeParse(parsed);
  return normalizeAdvancedOptions(result.success ? result.data : undefined);
}

/** Workload annotations recording `options`. */
export function advancedOptionsAnnotations(options: AdvancedOptions): Record<string, string> {
  return { [ADVANCED_OPTIONS_ANNOTATION]: JSON.stringify(options) };
}

/** Pod template annotations asking Prometheus to scrape the pods. */
export function metricAnnotations(options: AdvancedOptions): Record<string, string> {
  if (!options.exposedMetric) return {};
  return {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(options.exposedMetric.port),
    'prometheus.io/path': options.exposedMetric.path,
  };
}

/** The data of a configmap or secret, as far as the hash is concerned. */
export interface ConfigSource {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}
export type ConfigLookup = (type: 'configmap' | 'secret', name: string) => ConfigSource | undefined;

/**
 * A digest of the content of every configmap and secret `template` mounts (an absent one
 * counts as absent, so creating it later also rolls the pods). Secret values enter only the
 * sha256, never the annotation.
 */
export function configHash(template: PodTemplate | undefined, lookup: ConfigLookup): string {
  const { configmaps, secrets } = referencedSources(template);
  const entries = [
    ...configmaps.map((name) => ['configmap', name, lookup('configmap', name)] as const),
    ...secrets.map((name) => ['secret', name, lookup('secret', name)] as const),
  ].map(([type, name, source]) => [type, name, source ? [sortedEntries(source.data), sortedEntries(source.binaryData)] : null]);
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 32);
}

function sortedEntries(map: Record<string, string> | undefined): Array<[string, string]> {
  return Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Pod template annotations a workload with `options` starts with. */
export function templateAnnotations(options: AdvancedOptions, template: PodTemplate, lookup: ConfigLookup): Record<string, string> {
  return {
    ...metricAnnotations(options),
    ...(options.reloadWhenConfigChange ? { [CONFIG_HASH_ANNOTATION]: configHash(template, lookup) } : {}),
  };
}
