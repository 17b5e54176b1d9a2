import { z } from 'zod';
import { InputError } from '../../src/errors.js';
import { ClusterNameSchema, provisionedStatus, type ClusterRecord, type ClusterRuntime } from '../../src/clusters/cluster-manager.js';
import { capacityOf } from '../../src/clusters/cluster-metrics.js';
import { ProvisionedClusterInputSchema, publicSpecView } from '../../src/clusters/provisioning-spec.js';
import { parseInput } from '../framework/http-errors.js';
import { FRESHNESS_HEADERS } from '../cluster-access.js';
import { defineAction, defineResource, type ApiObject } from '../framework/resource.js';
import { withAliases } from './shared/validation.js';

function toApi(runtime: ClusterRuntime): ApiObject {
  const { cache } = runtime;
  const nodes = cache.informer('nodes')?.store.list() ?? [];
  const pods = cache.informer('pods')?.store.list() ?? [];
  return {
    id: runtime.name,
    name: runtime.name,
    status: runtime.state,
    version: runtime.health.version ?? '',
    nodeCount: nodes.length,
    ...capacityOf(nodes, pods),
    // Per kind: a failing one answers 503 alone while the others are served.
    informers: cache.informerStates(),
    creationTimestamp: runtime.record.creationTimestamp,
    // A provisioned cluster's message says why its last update did not finish (empty when it did).
    ...(runtime.record.source.kind === 'ssh' ? { message: runtime.record.source.message, ...publicSpecView(runtime.record.source.spec) } : {}),
  };
}

/** A provisioned cluster without a runtime (Creating, CreateFailed, Deleting): its run's phase, message and spec (never its key). */
function provisioningToApi(record: ClusterRecord): ApiObject {
  if (record.source.kind !== 'ssh') throw new Error(`cluster ${record.name} is not provisioned`);
  return {
    id: record.name,
    name: record.name,
    status: provisionedStatus(record.source),
    message: record.source.message,
    nodeCount: record.source.spec.nodes.length,
    creationTimestamp: record.creationTimestamp,
    ...publicSpecView(record.source.spec),
  };
}

/**
 * Import takes `kubeconfig`; provisioning over SSH takes the seed's nodes, network, sshKey...
 * (src/clusters/provisioning-spec.ts). A body with neither gets a 422 naming both.
 */
const CreateCluster = withAliases(
  { kubernetsVersion: 'kubernetesVersion', singlecloudAddress: 'singleCloudAddress' },
  z
    .object({
      name: ClusterNameSchema,
      kubeconfig: z.string().min(1, 'must not be empty').optional(),
      nodes: z.array(z.unknown()).optional(),
      kubernetesVersion: z.string().optional(),
      singleCloudAddress: z.string().optional(),
    })
    .passthrough(),
);

export const clusterResource = defineResource({
  kind: 'cluster',
  list: async (ctx) => [...ctx.services.clusters.list().map(toApi), ...ctx.services.clusters.provisioningRecords().map(provisioningToApi)],
  get: async (ctx, id) => {
    const runtime = ctx.services.clusters.get(id);
    if (runtime) return toApi(runtime);
    const provisioning = ctx.services.clusters.provisioningRecord(id);
    return provisioning && provisioningToApi(provisioning);
  },
  create: {
    input: CreateCluster,
    run: async (ctx, input) => {
      if (input.kubeconfig === undefined) {
        if (input.nodes === undefined) {
          throw new InputError('one of kubeconfig (import an existing cluster) or nodes (provision a new one over SSH) is required', 'kubeconfig');
        }
        // Every check that needs no host runs before anything is recorded: a bad field touches no host.
        const spec = parseInput(ProvisionedClusterInputSchema, input);
        return provisioningToApi(await ctx.services.clusters.createProvisioned(input.name, spec));
      }
      return toApi(await ctx.services.clusters.register(input.name, input.kubeconfig));
    },
  },
  // PUT re-runs a CreateFailed provisioned cluster with a corrected body (same nodes), or changes a Running one's nodes (Updating).
  update: {
    input: z.looseObject({}),
    run: async (ctx, id, input) => {
      const spec = parseInput(ProvisionedClusterInputSchema, input);
      const record = await ctx.services.clusters.reviseProvisioned(id, spec);
      const runtime = ctx.services.clusters.get(id);
      return runtime ? toApi(runtime) : provisioningToApi(record);
    },
  },
  remove: async (ctx, id) => {
    await ctx.services.clusters.remove(id);
  },
  actions: {
    // Stops a Creating or Updating cluster's run within seconds (every remote call listens): Canceling until it stops, then CreateFailed or Running.
    cancel: defineAction({
      output: z.object({ name: z.string(), status: z.string().describe('Canceling while the run stops; CreateFailed or Running when no run had started') }),
      run: async (ctx, id) => ({ name: id, status: await ctx.services.clusters.cancelProvisioning(id) }),
    }),
    getkubeconfig: defineAction({
      output: z.object({ name: z.string(), config: z.string().describe('admin kubeconfig YAML: the one imported, one zcloud issued for a provisioned cluster, or for the home cluster one naming the pod\'s service-account files (no token)') }),
      run: async (ctx, id) => ({ name: id, config: await ctx.services.clusters.kubeconfigOf(id) }),
    }),
  },
  // The audit trail already redacts sshKey and password; a registry's CA certificate is not secret.
  sensitiveFields: ['sshKey', 'password'],
  guardChildren: (ctx, id) => {
    const runtime = ctx.services.clusters.require(id);
    ctx.setHeader(FRESHNESS_HEADERS.state, runtime.state);
    ctx.services.clusters.requireAvailable(id);
  },
});
