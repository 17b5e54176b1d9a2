import { z } from 'zod';
import type { ControllerRevisionObject, PersistentVolumeClaimObject, StatefulSetObject } from '../../src/kube/objects.js';
import { controllerRevisions } from '../../src/workloads/history.js';
import type { ConfigLookup } from '../../src/workloads/options.js';
import { claimTemplatesOf } from '../../src/workloads/storage.js';
import { readCache } from '../cluster-access.js';
import { defineResource, type ApiObject, type RequestContext } from '../framework/resource.js';
import { checkPersistentVolumeReferences, containersSchema } from './shared/pod-template-input.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { claimLookupOf, createChecked, removeWorkload, replicasUpdate, revisionActions } from './shared/workload-handlers.js';
import { conditionsToApi, countersOf, workloadShape, workloadToApi, workloadToKube } from './shared/workload-translation.js';

const CreateStatefulSet = z
  .object({ ...workloadShape(containersSchema({ protocols: ['tcp', 'udp'], protocolRequired: true, volumeTypes: ['configmap', 'secret', 'persistentVolume'] })), replicas: z.number().int().min(0) })
  .superRefine(checkPersistentVolumeReferences);

export type StatefulSetInput = z.infer<typeof CreateStatefulSet>;

/** Kubernetes → zcloud; persistentVolumes come from the claim templates (and emptyDirs). */
export function statefulSetToApi(set: StatefulSetObject, claimOf: (name: string) => PersistentVolumeClaimObject | undefined): ApiObject {
  const status = set.status;
  return {
    ...workloadToApi(set, claimOf),
    replicas: set.spec?.replicas ?? 1,
    status: {
      ...countersOf(status, ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'observedGeneration']),
      currentRevision: typeof status?.currentRevision === 'string' ? status.currentRevision : '',
      updateRevision: typeof status?.updateRevision === 'string' ? status.updateRevision : '',
      conditions: conditionsToApi(status?.conditions),
    },
  };
}

/**
 * zcloud → Kubernetes. Non-temporary persistentVolumes become claim templates, so every pod gets
 * its own claim (`<volume>-<name>-<ordinal>`). serviceName names the governing service the
 * StatefulSet API requires; zcloud does not create it (a service resource does).
 */
export function statefulSetToKube(input: StatefulSetInput, namespace: string, lookup: ConfigLookup): StatefulSetObject {
  const { metadata, selector, template } = workloadToKube(input, namespace, () => undefined, lookup);
  const volumeClaimTemplates = claimTemplatesOf(input.persistentVolumes);
  return {
    metadata,
    spec: { replicas: input.replicas, serviceName: input.name, selector, template, ...(volumeClaimTemplates.length ? { volumeClaimTemplates } : {}) },
  };
}

/** Claims the statefulset controller made from the claim templates: `<template>-<set>-<ordinal>`. */
export function statefulSetClaims(set: StatefulSetObject, claimsInNamespace: readonly PersistentVolumeClaimObject[]): string[] {
  const prefixes = (set.spec?.volumeClaimTemplates ?? []).map((t) => `${t.metadata.name}-${set.metadata.name}-`);
  return claimsInNamespace
    .map((c) => c.metadata.name)
    .filter((name) => prefixes.some((prefix) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length))));
}

const toApi = (set: StatefulSetObject, ctx: RequestContext): ApiObject => statefulSetToApi(set, claimLookupOf(ctx));

export const statefulsetResource = defineResource({
  kind: 'statefulset',
  parents: ['namespace'],
  ...cachedHandlers<StatefulSetObject>('statefulsets', toApi),
  create: {
    input: CreateStatefulSet,
    run: async (ctx, input) =>
      toApi(await createChecked(ctx, 'statefulsets', input.containers, (lookup) => statefulSetToKube(input, ctx.parents.namespace, lookup)), ctx),
  },
  update: replicasUpdate<StatefulSetObject>('statefulsets', 'statefulset', toApi),
  remove: (ctx, id) =>
    removeWorkload<StatefulSetObject>(ctx, 'statefulsets', 'statefulset', id, (set) =>
      statefulSetClaims(set, readCache<PersistentVolumeClaimObject>(ctx, 'persistentvolumeclaims').store.listNamespace(ctx.parents.namespace)),
    ),
  actions: revisionActions<StatefulSetObject>('statefulsets', 'statefulset', (ctx, set) => {
    const owned = readCache<ControllerRevisionObject>(ctx, 'controllerrevisions').store.listOwnedBy(set.metadata.uid ?? '');
    const update = owned.find((cr) => cr.metadata.name === set.status?.updateRevision);
    return { revisions: controllerRevisions(owned), current: update?.revision };
  }),
});
