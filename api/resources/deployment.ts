import { z } from 'zod';
import type { DeploymentObject, PersistentVolumeClaimObject, ReplicaSetObject } from '../../src/kube/objects.js';
import { DEPLOYMENT_REVISION_ANNOTATION, replicaSetRevisions } from '../../src/workloads/history.js';
import type { ConfigLookup } from '../../src/workloads/options.js';
import { claimsOf, claimVolumeFor, mountedClaims } from '../../src/workloads/storage.js';
import { readCache } from '../cluster-access.js';
import { defineResource, type ApiObject, type RequestContext } from '../framework/resource.js';
import { checkPersistentVolumeReferences, containersSchema } from './shared/pod-template-input.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { claimLookupOf, createChecked, removeWorkload, replicasUpdate, revisionActions } from './shared/workload-handlers.js';
import { conditionsToApi, countersOf, workloadShape, workloadToApi, workloadToKube } from './shared/workload-translation.js';

// The seed spells a deployment's port protocols TCP/UDP on input (tcp/udp on output) and requires them.
const CreateDeployment = z
  .object({ ...workloadShape(containersSchema({ protocols: ['TCP', 'UDP'], protocolRequired: true, volumeTypes: ['configmap', 'secret', 'persistentVolume'] })), replicas: z.number().int().min(0) })
  .superRefine(checkPersistentVolumeReferences);

export type DeploymentInput = z.infer<typeof CreateDeployment>;

/** Kubernetes → zcloud, with the claims' size and class read through `claimOf`. */
export function deploymentToApi(deployment: DeploymentObject, claimOf: (name: string) => PersistentVolumeClaimObject | undefined): ApiObject {
  const status = deployment.status;
  return {
    ...workloadToApi(deployment, claimOf),
    replicas: deployment.spec?.replicas ?? 1,
    status: {
      ...countersOf(status, ['replicas', 'readyReplicas', 'updatedReplicas', 'availableReplicas', 'unavailableReplicas', 'observedGeneration']),
      conditions: conditionsToApi(status?.conditions),
    },
  };
}

/** zcloud → Kubernetes: pods labelled and selected by `app=<name>`; claims named `<name>-<volume>`. */
export function deploymentToKube(input: DeploymentInput, namespace: string, lookup: ConfigLookup): DeploymentObject {
  const { metadata, selector, template } = workloadToKube(input, namespace, claimVolumeFor(input.name), lookup);
  return { metadata, spec: { replicas: input.replicas, selector, template } };
}

const toApi = (deployment: DeploymentObject, ctx: RequestContext): ApiObject => deploymentToApi(deployment, claimLookupOf(ctx));

export const deploymentResource = defineResource({
  kind: 'deployment',
  parents: ['namespace'],
  ...cachedHandlers<DeploymentObject>('deployments', toApi),
  create: {
    input: CreateDeployment,
    run: async (ctx, input) => {
      const namespace = ctx.parents.namespace;
      const created = await createChecked(
        ctx,
        'deployments',
        input.containers,
        (lookup) => deploymentToKube(input, namespace, lookup),
        claimsOf(input.name, namespace, input.persistentVolumes),
      );
      return toApi(created, ctx);
    },
  },
  update: replicasUpdate<DeploymentObject>('deployments', 'deployment', toApi),
  remove: (ctx, id) => removeWorkload<DeploymentObject>(ctx, 'deployments', 'deployment', id, (d) => mountedClaims(d.spec?.template)),
  actions: revisionActions<DeploymentObject>('deployments', 'deployment', (ctx, deployment) => {
    const replicaSets = readCache<ReplicaSetObject>(ctx, 'replicasets').store.listOwnedBy(deployment.metadata.uid ?? '');
    const current = Number(deployment.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION]);
    return { revisions: replicaSetRevisions(replicaSets), current: Number.isInteger(current) ? current : undefined };
  }),
});
