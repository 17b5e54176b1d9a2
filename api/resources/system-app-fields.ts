import { z } from 'zod';
import type { ApplicationObject } from '../../src/apps/application-crd.js';
import type { ClusterRuntime } from '../../src/clusters/cluster-manager.js';
import { redirectUrl, type SystemAppName } from '../../src/apps/system-apps.js';
import type { ApiObject } from '../framework/resource.js';
import { applicationPhase } from './application.js';

/** The seed's storage class choices for monitor and registry. */
export const SystemStorageClass = z.enum(['cephfs', 'lvm']);

/** Fields monitor and registry share; adminPassword is write-only (kept in a cluster Secret). */
export const systemAppFields = {
  adminPassword: z.string().min(6, 'must be at least 6 characters').max(128).optional(),
  ingressDomain: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS name')
    .optional(),
  storageClass: SystemStorageClass.optional(),
  storageSize: z.number().int().min(1, 'must be at least 1 (GiB)').optional(),
};

/** The form values of the system chart: only what the caller set; the chart's defaults fill the rest. */
export function definedConfigs(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

/** A system Application as the seed's monitor/registry: its settings, redirectUrl and status; never the password. */
export function systemAppToApi(runtime: ClusterRuntime, name: SystemAppName, app: ApplicationObject, id: string, fields: readonly string[]): ApiObject {
  const configs = app.spec.configs ?? {};
  return {
    id,
    ...Object.fromEntries(fields.map((f) => [f, configs[f]])),
    redirectUrl: redirectUrl(runtime, name),
    status: applicationPhase(app),
    message: app.status?.message ?? '',
    creationTimestamp: app.metadata.creationTimestamp,
  };
}
