import { z } from 'zod';
import { createSystemApp, deleteSystemApp, systemApp } from '../../src/apps/system-apps.js';
import { InputError, NotFoundError } from '../../src/errors.js';
import { defineResource, type ApiObject, type RequestContext } from '../framework/resource.js';
import { definedConfigs, systemAppFields, systemAppToApi } from './system-app-fields.js';

const CreateRegistry = z.object({ cluster: z.string().min(1, 'is required'), ...systemAppFields });

const FIELDS = ['cluster', 'ingressDomain', 'storageClass', 'storageSize'] as const;

/** The registry of cluster `name` (its id is the cluster's name), if the cluster has one. */
function registryOf(ctx: RequestContext, name: string): ApiObject | undefined {
  const runtime = ctx.services.clusters.get(name);
  const app = runtime?.available ? systemApp(runtime, 'registry') : undefined;
  if (!runtime || !app) return undefined;
  return { ...systemAppToApi(runtime, 'registry', app, name, FIELDS), cluster: name };
}

/**
 * Container image registries (CNCF Distribution), one per cluster: the `registry` system chart
 * installed as an Application in the cluster's zcloud-system namespace, admin password in the
 * Secret zcloud-system/registry-admin. Top-level, admin only; id = the cluster's name.
 */
export const registryResource = defineResource({
  kind: 'registry',
  list: async (ctx) => ctx.services.clusters.list().flatMap((runtime) => registryOf(ctx, runtime.name) ?? []),
  get: async (ctx, id) => registryOf(ctx, id),
  create: {
    input: CreateRegistry,
    run: async (ctx, input) => {
      const { cluster, adminPassword, ...fields } = input;
      const runtime = ctx.services.clusters.get(cluster);
      if (!runtime) throw new InputError(`no cluster ${cluster}`, 'cluster');
      const available = ctx.services.clusters.requireAvailable(cluster);
      const app = await createSystemApp(available, ctx.services.catalog, 'registry', { configs: definedConfigs(fields), adminPassword });
      return { ...systemAppToApi(available, 'registry', app, cluster, FIELDS), cluster };
    },
  },
  remove: async (ctx, id) => {
    if (!registryOf(ctx, id)) throw new NotFoundError(`registry ${id} not found`);
    await deleteSystemApp(ctx.services.clusters.requireAvailable(id), 'registry');
  },
  sensitiveFields: ['adminPassword'],
});
