import { z } from 'zod';
import { InputError, NotFoundError } from '../../src/errors.js';
import type { SecretObject } from '../../src/kube/objects.js';
import { clusterOf, readCache } from '../cluster-access.js';
import { defineResource, type ApiObject, type RequestContext } from '../framework/resource.js';
import { DataKeySchema, ObjectNameSchema, uniqueBy } from './shared/validation.js';


/** The only Secret type the API models; service-account tokens and the like are not zcloud's to show or edit. */
export const OPAQUE = 'Opaque';

// The seed marks neither key nor value required; an entry without a key cannot exist in a Secret,
// while an absent value is simply empty.
const SecretDataSchema = z.object({ key: DataKeySchema, value: z.string().default('') });
const SecretDataListSchema = uniqueBy(SecretDataSchema, (d) => d.key, 'key');

const CreateSecret = z.object({ name: ObjectNameSchema, data: SecretDataListSchema });
/** PUT replaces the data whole; `name`, if sent, must match the URL. */
const UpdateSecret = z.object({ name: ObjectNameSchema.optional(), data: SecretDataListSchema });

export type SecretInput = z.infer<typeof CreateSecret>;

/** Kubernetes → zcloud: base64 `data` becomes plain-text `data[{key, value}]`, sorted by key. */
export function secretToApi(secret: SecretObject): ApiObject {
  return {
    id: secret.metadata.name,
    name: secret.metadata.name,
    data: Object.entries(secret.data ?? {})
      .map(([key, encoded]) => ({ key, value: Buffer.from(encoded, 'base64').toString('utf8') }))
      .sort((a, b) => a.key.localeCompare(b.key)),
    creationTimestamp: secret.metadata.creationTimestamp,
  };
}

/** zcloud → Kubernetes (an Opaque Secret). With `current`, its metadata (labels, resourceVersion...) is kept. */
export function secretToKube(input: SecretInput, namespace: string, current?: SecretObject): SecretObject {
  return {
    ...(current ?? {}),
    metadata: { ...(current?.metadata ?? {}), name: input.name, namespace },
    type: OPAQUE,
    data: Object.fromEntries(input.data.map((d) => [d.key, Buffer.from(d.value, 'utf8').toString('base64')])),
  };
}

function opaqueSecret(ctx: RequestContext, name: string): SecretObject | undefined {
  const secret = readCache<SecretObject>(ctx, 'secrets').store.get(ctx.parents.namespace, name);
  return secret && isOpaque(secret) ? secret : undefined;
}

function isOpaque(secret: SecretObject): boolean {
  // The apiserver defaults an absent type to Opaque.
  return (secret.type ?? OPAQUE) === OPAQUE;
}

export const secretResource = defineResource({
  kind: 'secret',
  parents: ['namespace'],
  // Values are secrets: the audit trail redacts them wherever they appear in a request body.
  sensitiveFields: ['value'],
  list: async (ctx) =>
    readCache<SecretObject>(ctx, 'secrets')
      .store.listNamespace(ctx.parents.namespace)
      .filter(isOpaque)
      .map(secretToApi)
      .sort((a, b) => a.id.localeCompare(b.id)),
  get: async (ctx, id) => {
    const secret = opaqueSecret(ctx, id);
    return secret && secretToApi(secret);
  },
  create: {
    input: CreateSecret,
    run: async (ctx, input) => secretToApi(await clusterOf(ctx).client.create('secrets', secretToKube(input, ctx.parents.namespace))),
  },
  update: {
    input: UpdateSecret,
    run: async (ctx, id, input) => {
      const current = opaqueSecret(ctx, id);
      if (!current) return notFound(id);
      if (input.name !== undefined && input.name !== id) throw new InputError(`must match the secret in the URL (${id})`, 'name');
      // Replacing with the cached resourceVersion: a concurrent change answers 409, never lost.
      const next = secretToKube({ name: id, data: input.data }, ctx.parents.namespace, current);
      return secretToApi(await clusterOf(ctx).client.replace('secrets', next));
    },
  },
  remove: async (ctx, id) => {
    if (!opaqueSecret(ctx, id)) notFound(id);
    await clusterOf(ctx).client.delete('secrets', ctx.parents.namespace, id);
  },
});

function notFound(id: string): never {
  throw new NotFoundError(`secret ${id} not found`);
}
