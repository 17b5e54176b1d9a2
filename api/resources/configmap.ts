import { z } from 'zod';
import { InputError, NotFoundError } from '../../src/errors.js';
import type { ConfigMapObject } from '../../src/kube/objects.js';
import { clusterOf, readCache } from '../cluster-access.js';
import { defineResource, type ApiObject } from '../framework/resource.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { ObjectNameSchema, uniqueBy } from './shared/validation.js';


const ConfigSchema = z.object({
  name: z.string().regex(/^[-._a-zA-Z0-9]+$/, 'must be letters, digits, "-", "_" or "."').max(253),
  data: z.string(),
});
const ConfigsSchema = uniqueBy(ConfigSchema, (c) => c.name, 'config name');

const CreateConfigMap = z.object({ name: ObjectNameSchema, configs: ConfigsSchema });
/** PUT replaces the configs whole; `name`, if sent, must match the URL. */
const UpdateConfigMap = z.object({ name: ObjectNameSchema.optional(), configs: ConfigsSchema });

export type ConfigMapInput = z.infer<typeof CreateConfigMap>;

/** Kubernetes → zcloud: `data` becomes `configs[{name, data}]`, sorted by name. */
export function configMapToApi(cm: ConfigMapObject): ApiObject {
  return {
    id: cm.metadata.name,
    name: cm.metadata.name,
    configs: Object.entries(cm.data ?? {})
      .map(([name, data]) => ({ name, data }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    creationTimestamp: cm.metadata.creationTimestamp,
  };
}

/** zcloud → Kubernetes. With `current`, its metadata (labels, resourceVersion...) is kept. */
export function configMapToKube(input: ConfigMapInput, namespace: string, current?: ConfigMapObject): ConfigMapObject {
  return {
    ...(current ?? {}),
    metadata: { ...(current?.metadata ?? {}), name: input.name, namespace },
    data: Object.fromEntries(input.configs.map((c) => [c.name, c.data])),
  };
}

export const configmapResource = defineResource({
  kind: 'configmap',
  parents: ['namespace'],
  ...cachedHandlers<ConfigMapObject>('configmaps', configMapToApi),
  create: {
    input: CreateConfigMap,
    run: async (ctx, input) => configMapToApi(await clusterOf(ctx).client.create('configmaps', configMapToKube(input, ctx.parents.namespace))),
  },
  update: {
    input: UpdateConfigMap,
    run: async (ctx, id, input) => {
      const { store } = readCache<ConfigMapObject>(ctx, 'configmaps');
      const current = store.get(ctx.parents.namespace, id);
      if (!current) return notFound(id);
      if (input.name !== undefined && input.name !== id) throw new InputError(`must match the configmap in the URL (${id})`, 'name');
      // Replacing with the cached resourceVersion: a concurrent change answers 409, never lost.
      const next = configMapToKube({ name: id, configs: input.configs }, ctx.parents.namespace, current);
      return configMapToApi(await clusterOf(ctx).client.replace('configmaps', next));
    },
  },
});

function notFound(id: string): never {
  throw new NotFoundError(`configmap ${id} not found`);
}
