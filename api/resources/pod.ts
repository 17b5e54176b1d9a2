import { NotFoundError } from '../../src/errors.js';
import type { ContainerStatus, PodObject } from '../../src/kube/objects.js';
import { podDisplayStatus, podRestarts } from '../../src/kube/pod-status.js';
import type { CachedKindName } from '../../src/kube/resource-kind.js';
import { containersToApi } from '../../src/workloads/pod-template.js';
import { clusterCacheVersion, clusterOf, readCache } from '../cluster-access.js';
import { cachedList, defineResource, type ApiObject, type RequestContext } from '../framework/resource.js';
import { requireCached } from './shared/workload-handlers.js';
import { conditionsToApi } from './shared/workload-translation.js';


/** `{ type: running|waiting|terminated, ...details }`, or undefined for no state. */
function stateToApi(state: ContainerStatus['state']): Record<string, unknown> | undefined {
  for (const type of ['running', 'waiting', 'terminated'] as const) {
    const details = state?.[type];
    if (details) return { type, ...details };
  }
  return undefined;
}

function containerStatusToApi(s: ContainerStatus): Record<string, unknown> {
  const state = stateToApi(s.state);
  const lastState = stateToApi(s.lastState);
  return {
    name: s.name,
    ready: s.ready ?? false,
    restartCount: s.restartCount ?? 0,
    ...(s.image ? { image: s.image } : {}),
    ...(s.imageID ? { imageID: s.imageID } : {}),
    ...(s.containerID ? { containerID: s.containerID } : {}),
    ...(state ? { state } : {}),
    ...(lastState ? { lastState } : {}),
  };
}

/**
 * Kubernetes → zcloud. `state` is kubectl's STATUS column (Running, Pending, Completed,
 * CrashLoopBackOff, Terminating...), `restarts` the sum over containers.
 */
export function podToApi(pod: PodObject): ApiObject {
  const status = pod.status ?? {};
  return {
    id: pod.metadata.name,
    name: pod.metadata.name,
    nodeName: pod.spec?.nodeName ?? '',
    containers: containersToApi({ spec: pod.spec }),
    state: podDisplayStatus(pod as PodObject),
    restarts: podRestarts(pod as PodObject),
    status: {
      phase: status.phase ?? 'Unknown',
      hostIP: status.hostIP ?? '',
      podIP: status.podIP ?? '',
      ...(status.startTime ? { startTime: status.startTime } : {}),
      containerStatuses: (status.containerStatuses ?? []).map(containerStatusToApi),
      podConditions: conditionsToApi(status.conditions),
    },
    creationTimestamp: pod.metadata.creationTimestamp,
  };
}

/** Each parent kind: where it is cached, and the kind of object in between (pod → ReplicaSet → Deployment; pod → Job → CronJob). */
const OWNERS: Record<string, { cached: CachedKindName; via?: CachedKindName }> = {
  deployment: { cached: 'deployments', via: 'replicasets' },
  statefulset: { cached: 'statefulsets' },
  daemonset: { cached: 'daemonsets' },
  job: { cached: 'jobs' },
  cronjob: { cached: 'cronjobs', via: 'jobs' },
};

/** The pods of the workload on the request path, through the owner-uid index; 404 for an unknown workload. */
function podsOfParent(ctx: RequestContext): PodObject[] {
  const parent = Object.keys(OWNERS).find((kind) => ctx.parents[kind] !== undefined);
  if (!parent) throw new Error('pod requested below no workload');
  const { cached, via } = OWNERS[parent];
  const owner = requireCached(ctx, cached, parent, ctx.parents[parent]);
  const pods = readCache<PodObject>(ctx, 'pods').store;
  const owners = via ? readCache(ctx, via).store.listOwnedBy(owner.metadata.uid ?? '') : [owner];
  return owners.flatMap((o) => pods.listOwnedBy(o.metadata.uid ?? ''));
}

function podOfParent(ctx: RequestContext, id: string): PodObject | undefined {
  return podsOfParent(ctx).find((p) => p.metadata.name === id);
}

export const podResource = defineResource({
  kind: 'pod',
  // The seed names deployment, daemonset and statefulset; the issue adds job and cronjob.
  parents: ['deployment', 'daemonset', 'statefulset', 'job', 'cronjob'],
  // Pods, their owners and podToApi read nothing but the cluster's cache.
  version: clusterCacheVersion,
  cachedList: cachedList('pod', (ctx) => podsOfParent(ctx).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)), podToApi),
  get: async (ctx, id) => {
    const pod = podOfParent(ctx, id);
    return pod && podToApi(pod);
  },
  remove: async (ctx, id) => {
    if (!podOfParent(ctx, id)) throw new NotFoundError(`pod ${id} not found`);
    await clusterOf(ctx).client.delete('pods', ctx.parents.namespace, id);
  },
});
