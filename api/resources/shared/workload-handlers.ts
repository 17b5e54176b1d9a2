import { z } from 'zod';
import { ConflictError, InputError, NotFoundError } from '../../../src/errors.js';
import type { DeleteOptions } from '../../../src/kube/cluster-client.js';
import type { KubeObject } from '../../../src/kube/kube-object.js';
import type { ConfigMapObject, PersistentVolumeClaimObject, PodTemplate, SecretObject, WorkloadObject } from '../../../src/kube/objects.js';
import type { CachedKindName } from '../../../src/kube/resource-kind.js';
import { historyOf, keepConfigHash, rollbackTemplate, setImages, withChangeCause, type Revision } from '../../../src/workloads/history.js';
import { advancedOptionsOf, type ConfigLookup } from '../../../src/workloads/options.js';
import type { ContainerInput } from '../../../src/workloads/pod-template.js';
import { deleteClaims, withClaims } from '../../../src/workloads/storage.js';
import { clusterOf, lookupCache, readCache } from '../../cluster-access.js';
import { defineAction, type ActionDefinition, type ApiObject, type RequestContext } from '../../framework/resource.js';
import { uniqueBy } from './validation.js';

/** Request-side plumbing the five workload kinds share: cache lookups, reference checks, delete, actions. */

/** The configmaps and secrets of the request's namespace, as the cache holds them. */
export function configLookupOf(ctx: RequestContext): ConfigLookup {
  const namespace = ctx.parents.namespace;
  const configmaps = readCache<ConfigMapObject>(ctx, 'configmaps').store;
  const secrets = readCache<SecretObject>(ctx, 'secrets').store;
  return (type, name) => (type === 'configmap' ? configmaps : secrets).get(namespace, name);
}

/** The claims of the request's namespace, by name (a lookup: the answer is about the workload). */
export function claimLookupOf(ctx: RequestContext): (name: string) => PersistentVolumeClaimObject | undefined {
  const claims = lookupCache<PersistentVolumeClaimObject>(ctx, 'persistentvolumeclaims');
  return (name) => claims.get(ctx.parents.namespace, name);
}

/** A configmap or secret volume must name an object of the namespace: 422 naming the volume otherwise. */
export function checkConfigReferences(containers: readonly ContainerInput[], lookup: ConfigLookup): void {
  containers.forEach((container, i) =>
    (container.volumes ?? []).forEach((volume, j) => {
      if (volume.type === 'persistentVolume' || lookup(volume.type, volume.name)) return;
      throw new InputError(`${volume.type} "${volume.name}" does not exist in the namespace`, `containers.${i}.volumes.${j}.name`);
    }),
  );
}

/**
 * Checks the configmap/secret references of `containers`, builds the object with the
 * namespace's configs (for the config hash), creates `claims` and then the object; a failure
 * removes the claims again. Returns the object as the cache holds it after the write.
 */
export async function createChecked<T extends KubeObject>(
  ctx: RequestContext,
  kind: CachedKindName,
  containers: readonly ContainerInput[],
  build: (lookup: ConfigLookup) => T,
  claims: readonly PersistentVolumeClaimObject[] = [],
): Promise<T> {
  const lookup = configLookupOf(ctx);
  checkConfigReferences(containers, lookup);
  const object = build(lookup);
  const { client } = clusterOf(ctx);
  return withClaims(client, claims, () => client.create(kind, object));
}

/** The object `id` of the request's namespace from the cache, or 404. */
export function requireCached<T extends KubeObject>(ctx: RequestContext, kind: CachedKindName, label: string, id: string): T {
  const object = readCache<T>(ctx, kind).store.get(ctx.parents.namespace, id);
  if (!object) throw new NotFoundError(`${label} ${id} not found`);
  return object;
}

/**
 * Deletes workload `id`; with deletePVsWhenDeleteWorkload, then the claims `claimsOf` names
 * (a claim still mounted stays Terminating until its pods are gone).
 */
export async function removeWorkload<T extends KubeObject>(
  ctx: RequestContext,
  kind: CachedKindName,
  label: string,
  id: string,
  claimsOf: (workload: T, ctx: RequestContext) => string[],
  options: DeleteOptions = {},
): Promise<void> {
  const workload = requireCached<T>(ctx, kind, label, id);
  const claims = advancedOptionsOf(workload).deletePVsWhenDeleteWorkload ? claimsOf(workload, ctx) : [];
  const { client } = clusterOf(ctx);
  await client.delete(kind, ctx.parents.namespace, id, options);
  await deleteClaims(client, ctx.parents.namespace, claims);
}

const ReplicasInput = z.object({ replicas: z.number().int().min(0) });

/** PUT `{replicas}`: scales a deployment or statefulset; a GET right after shows the new count. */
export function replicasUpdate<T extends WorkloadObject>(kind: CachedKindName, label: string, toApi: (object: T, ctx: RequestContext) => ApiObject) {
  return {
    input: ReplicasInput,
    run: async (ctx: RequestContext, id: string, input: z.infer<typeof ReplicasInput>): Promise<ApiObject> => {
      requireCached(ctx, kind, label, id);
      const patched = await clusterOf(ctx).client.mergePatch<T>(kind, ctx.parents.namespace, id, { spec: { replicas: input.replicas } });
      return toApi(patched, ctx);
    },
  };
}

const SetImageInput = z.object({
  images: uniqueBy(z.object({ name: z.string().min(1, 'is required'), image: z.string().trim().min(1, 'is required') }), (i) => i.name, 'container').min(
    1,
    'must name at least one container',
  ),
  reason: z.string().optional(),
});
const RollbackInput = z.object({ version: z.number().int(), reason: z.string().optional() });

/** Conflicts in a row before giving up: the controllers write status a few times after each change. */
const CONFLICT_RETRIES = 5;

/**
 * Replaces `workload` with `change(workload)`. The workload's controller keeps writing status,
 * so a conflict is usually not a competing user: like client-go's RetryOnConflict, re-read the
 * live object and apply the change to it again.
 */
async function replaceRetrying<T extends KubeObject>(ctx: RequestContext, kind: CachedKindName, workload: T, change: (current: T) => T): Promise<T> {
  const { client } = clusterOf(ctx);
  let current = workload;
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.replace(kind, change(current));
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= CONFLICT_RETRIES) throw err;
      current = await client.getLive<T>(kind, workload.metadata.namespace, workload.metadata.name);
    }
  }
}

/** Where a kind keeps its revisions, and which one is current (undefined: the newest). */
export type RevisionsOf<T> = (ctx: RequestContext, workload: T) => { revisions: Revision[]; current?: number };

/** history, setImage and rollback of a deployment, statefulset or daemonset. */
export function revisionActions<T extends WorkloadObject>(kind: CachedKindName, label: string, revisionsOf: RevisionsOf<T>): Record<string, ActionDefinition> {
  const replaceTemplate = (ctx: RequestContext, workload: T, template: (current: T) => PodTemplate, reason?: string) =>
    replaceRetrying<T>(ctx, kind, workload, (current) => {
      const next = structuredClone(current) as T;
      next.metadata.annotations = withChangeCause(current.metadata.annotations, reason);
      next.spec = { ...next.spec, template: template(current) };
      return next;
    });
  return {
    history: defineAction({
      run: async (ctx, id) => {
        const { revisions, current } = revisionsOf(ctx, requireCached<T>(ctx, kind, label, id));
        return { history: historyOf(revisions, current) };
      },
    }),
    setImage: defineAction({
      input: SetImageInput,
      run: async (ctx, id, input) => {
        const workload = requireCached<T>(ctx, kind, label, id);
        await replaceTemplate(ctx, workload, (current) => setImages(current.spec?.template, input.images), input.reason);
      },
    }),
    rollback: defineAction({
      input: RollbackInput,
      run: async (ctx, id, input) => {
        const workload = requireCached<T>(ctx, kind, label, id);
        const { revisions, current } = revisionsOf(ctx, workload);
        const template = rollbackTemplate(revisions, input.version, current);
        await replaceTemplate(ctx, workload, (latest) => keepConfigHash(template, latest.spec?.template), input.reason);
      },
    }),
  };
}
