import type { ClusterRuntime } from '../clusters/cluster-manager.js';
import { KubeApiError } from '../kube/kube-http.js';
import type { KubeObject } from '../kube/kube-object.js';
import { podControllerKind } from '../kube/pod-status.js';
import { objectPath } from '../kube/resource-kind.js';

/** What drain did to one pod of the node. */
export interface DrainedPod {
  namespace: string;
  name: string;
  result: 'evicted' | 'skipped (daemonset)' | 'skipped (mirror pod)' | `failed: ${string}`;
}

export interface DrainResult {
  pods: DrainedPod[];
}

/** The kubelet marks the API copies of static pods with this; evicting them does nothing. */
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

/**
 * How drain treats each pod: DaemonSet pods are skipped (their controller would put them right
 * back, and they tolerate the cordon), so are mirror pods (the kubelet owns them); everything
 * else is evicted. Pure, so the rules are unit-tested without a cluster.
 */
export function drainPlan(pods: readonly KubeObject[]): Array<{ pod: KubeObject; skip?: DrainedPod['result'] }> {
  return [...pods]
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))
    .map((pod) => {
      if (pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) return { pod, skip: 'skipped (mirror pod)' as const };
      if (podControllerKind(pod) === 'DaemonSet') return { pod, skip: 'skipped (daemonset)' as const };
      return { pod };
    });
}

/** Evictions in flight at once: enough to drain a full node quickly without flooding the apiserver. */
const EVICTION_CONCURRENCY = 8;

/**
 * Evicts `pods` (those of the node being drained) through the Eviction subresource, which
 * honours PodDisruptionBudgets: a refused eviction is reported per pod, never thrown. The
 * body is policy/v1beta1, the version Kubernetes 1.20 serves (later versions still accept it).
 * Does not wait for the pods to terminate: their controllers and the kubelet carry on.
 */
export async function evictPods(runtime: ClusterRuntime, pods: readonly KubeObject[]): Promise<DrainResult> {
  const plan = drainPlan(pods);
  const results: DrainedPod[] = new Array(plan.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.length) {
      const index = next++;
      const { pod, skip } = plan[index];
      const { namespace = '', name } = pod.metadata;
      results[index] = { namespace, name, result: skip ?? (await evictOne(runtime, namespace, name)) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(EVICTION_CONCURRENCY, plan.length) }, worker));
  return { pods: results };
}

async function evictOne(runtime: ClusterRuntime, namespace: string, name: string): Promise<DrainedPod['result']> {
  const podKind = runtime.cache.kind('pods');
  if (!podKind) return 'failed: cluster serves no pods';
  try {
    await runtime.http.request('POST', `${objectPath(podKind, namespace, name)}/eviction`, {
      body: { apiVersion: 'policy/v1beta1', kind: 'Eviction', metadata: { name, namespace } },
    });
    return 'evicted';
  } catch (err) {
    // Gone already (deleted since the cache listed it): what eviction wanted has happened.
    if (err instanceof KubeApiError && err.status === 404) return 'evicted';
    // A disruption budget answers 429 with the reason in its message; show it without the URL.
    return `failed: ${(err as Error).message.replace(/^[^:]*: /, '')}`;
  }
}
