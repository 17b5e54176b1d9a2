import { z } from 'zod';
import { createSystemApp, deleteSystemApp, systemApp } from '../../src/apps/system-apps.js';
import { NotFoundError } from '../../src/errors.js';
import { clusterOf } from '../cluster-access.js';
import { defineResource, type RequestContext } from '../framework/resource.js';
import { definedConfigs, systemAppFields, systemAppToApi } from './system-app-fields.js';

const CreateMonitor = z.object({
  ...systemAppFields,
  prometheusRetention: z.number().int().min(1, 'must be at least 1 (days)').optional(),
  scrapeInterval: z.number().int().min(5, 'must be at least 5 (seconds)').optional(),
});

const FIELDS = ['ingressDomain', 'prometheusRetention', 'scrapeInterval', 'storageClass', 'storageSize'] as const;
/** One monitor per cluster; its id is the Application's name. */
const MONITOR_ID = 'monitor';

function monitorOf(ctx: RequestContext) {
  const runtime = clusterOf(ctx);
  const app = systemApp(runtime, 'monitor');
  return app && systemAppToApi(runtime, 'monitor', app, MONITOR_ID, FIELDS);
}

/**
 * A cluster's monitoring stack: Prometheus scraping the cluster and Grafana (admin password in
 * the Secret zcloud-system/monitor-admin), the `monitor` system chart installed as an Application
 * in zcloud-system. redirectUrl is Grafana's Ingress.
 */
export const monitorResource = defineResource({
  kind: 'monitor',
  parents: ['cluster'],
  list: async (ctx) => {
    const monitor = monitorOf(ctx);
    return monitor ? [monitor] : [];
  },
  get: async (ctx, id) => (id === MONITOR_ID ? monitorOf(ctx) : undefined),
  create: {
    input: CreateMonitor,
    run: async (ctx, input) => {
      const runtime = clusterOf(ctx);
      const { adminPassword, ...fields } = input;
      const app = await createSystemApp(runtime, ctx.services.catalog, 'monitor', { configs: definedConfigs(fields), adminPassword });
      return systemAppToApi(runtime, 'monitor', app, MONITOR_ID, FIELDS);
    },
  },
  remove: async (ctx, id) => {
    if (id !== MONITOR_ID || !monitorOf(ctx)) throw new NotFoundError(`monitor ${id} not found`);
    await deleteSystemApp(clusterOf(ctx), 'monitor');
  },
  sensitiveFields: ['adminPassword'],
});
