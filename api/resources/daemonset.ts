import { z } from 'zod';
import type { ControllerRevisionObject, DaemonSetObject, PersistentVolumeClaimObject } from '../../src/kube/objects.js';
import { controllerRevisions } from '../../src/workloads/history.js';
import type { ConfigLookup } from '../../src/workloads/options.js';
import { claimsOf, claimVolumeFor, mountedClaims } from '../../src/workloads/storage.js';
import { readCache } from '../cluster-access.js';
import { defineResource, type ApiObject, type RequestContext } from '../framework/resource.js';
import { checkPersistentVolumeReferences, containersSchema } from './shared/pod-template-input.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { claimLookupOf, createChecked, removeWorkload, revisionActions } from './shared/workload-handlers.js';
import { conditionsToApi, countersOf, workloadShape, workloadToApi, workloadToKube } from './shared/workload-translation.js';

const CreateDaemonSet = z
  .object(workloadShape(containersSchema({ protocols: ['tcp', 'udp'], protocolRequired: false, volumeTypes: ['configmap', 'secret', 'persistentVolume'] })))
  .superRefine(checkPersistentVolumeReferences);

export type DaemonSetInput = z.infer<typeof CreateDaemonSet>;

const STATUS_COUNTERS = [
  'collisionCount',
  'currentNumberScheduled',
  'desiredNumberScheduled',
  'numberAvailable',
  'numberMisscheduled',
  'numberReady',
  'numberUnavailable',
  'observedGeneration',
  'updatedNumberScheduled',
] as const;

/**
 * Kubernetes → zcloud. The console reads every workload's `status.replicas` and
 * `status.readyReplicas`; a daemonset's are its desired and ready pod counts.
 */
export function daemonSetToApi(set: DaemonSetObject, claimOf: (name: string) => PersistentVolumeClaimObject | undefined): ApiObject {
  const counters = countersOf(set.status, STATUS_COUNTERS);
  return {
    ...workloadToApi(set, claimOf),
    status: {
      ...counters,
      replicas: counters.desiredNumberScheduled,
      readyReplicas: counters.numberReady,
      conditions: conditionsToApi(set.status?.conditions),
    },
  };
}

/** zcloud → Kubernetes: one pod per schedulable node, labelled and selected by `app=<name>`. */
export function daemonSetToKube(input: DaemonSetInput, namespace: string, lookup: ConfigLookup): DaemonSetObject {
  const { metadata, selector, template } = workloadToKube(input, namespace, claimVolumeFor(input.name), lookup);
  return { metadata, spec: { selector, template } };
}

const toApi = (set: DaemonSetObject, ctx: RequestContext): ApiObject => daemonSetToApi(set, claimLookupOf(ctx));

export const daemonsetResource = defineResource({
  kind: 'daemonset',
  parents: ['namespace'],
  ...cachedHandlers<DaemonSetObject>('daemonsets', toApi),
  create: {
    input: CreateDaemonSet,
    run: async (ctx, input) => {
      const namespace = ctx.parents.namespace;
      const build = (lookup: ConfigLookup) => daemonSetToKube(input, namespace, lookup);
      return toApi(await createChecked(ctx, 'daemonsets', input.containers, build, claimsOf(input.name, namespace, input.persistentVolumes)), ctx);
    },
  },
  remove: (ctx, id) => removeWorkload<DaemonSetObject>(ctx, 'daemonsets', 'daemonset', id, (set) => mountedClaims(set.spec?.template)),
  // A daemonset's newest ControllerRevision is its current template.
  actions: revisionActions<DaemonSetObject>('daemonsets', 'daemonset', (ctx, set) => ({
    revisions: controllerRevisions(readCache<ControllerRevisionObject>(ctx, 'controllerrevisions').store.listOwnedBy(set.metadata.uid ?? '')),
  })),
});
