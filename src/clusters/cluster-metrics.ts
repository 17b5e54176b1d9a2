import type { KubeObject } from '../kube/kube-object.js';
import type { NamespaceTally, ObjectReader } from '../kube/object-store.js';
import type { NodeObject, PodObject } from '../kube/objects.js';
import { bytes, milliCores, parseQuantity } from '../kube/quantity.js';

export interface CapacityFigures {
  /** millicores */
  cpu: number;
  cpuUsed: number;
  cpuUsedRatio: string;
  /** bytes */
  memory: number;
  memoryUsed: number;
  memoryUsedRatio: string;
  pod: number;
  podUsed: number;
  podUsedRatio: string;
}


const ROLE_PREFIX = 'node-role.kubernetes.io/';

/** Roles from `node-role.kubernetes.io/<role>` labels (master is reported as controlplane). */
export function nodeRoles(node: KubeObject): string[] {
  const roles = new Set<string>();
  for (const label of Object.keys(node.metadata.labels ?? {})) {
    if (!label.startsWith(ROLE_PREFIX)) continue;
    const role = label.slice(ROLE_PREFIX.length);
    roles.add(role === 'master' || role === 'control-plane' ? 'controlplane' : role);
  }
  return [...roles].sort();
}

/** A worker runs workloads: labelled worker, or carrying no role label at all. */
export function isWorker(node: KubeObject): boolean {
  const roles = nodeRoles(node);
  return roles.length === 0 || roles.includes('worker');
}

export function ratio(used: number, total: number): string {
  return total > 0 ? (used / total).toFixed(2) : '0.00';
}

function isTerminated(pod: PodObject): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/**
 * Capacity is the allocatable of worker nodes; used is the sum of container requests of
 * non-terminated pods bound to those nodes, and their count.
 */
export function capacityOf(nodes: readonly NodeObject[], pods: readonly PodObject[]): CapacityFigures {
  return capacityOfNodes(nodes.filter(isWorker), pods);
}

/**
 * The same figures for exactly `nodes`, whatever their roles (one node's own figures). Pods
 * bound elsewhere are ignored, so callers may pass all pods or only those of `nodes`.
 */
export function capacityOfNodes(nodes: readonly NodeObject[], pods: readonly PodObject[]): CapacityFigures {
  const counted = new Set<string>();
  let cpu = 0;
  let memory = 0;
  let pod = 0;
  for (const node of nodes) {
    counted.add(node.metadata.name);
    const allocatable = node.status?.allocatable ?? {};
    cpu += milliCores(allocatable.cpu);
    memory += bytes(allocatable.memory);
    pod += allocatable.pods ? Math.floor(parseQuantity(allocatable.pods)) : 0;
  }
  const { cpuUsed, memoryUsed, podUsed } = requestsOf(pods.filter((p) => p.spec?.nodeName && counted.has(p.spec.nodeName)));
  return {
    cpu,
    cpuUsed,
    cpuUsedRatio: ratio(cpuUsed, cpu),
    memory,
    memoryUsed,
    memoryUsedRatio: ratio(memoryUsed, memory),
    pod,
    podUsed,
    podUsedRatio: ratio(podUsed, pod),
  };
}

export interface RequestFigures {
  /** millicores */
  cpuUsed: number;
  /** bytes */
  memoryUsed: number;
  podUsed: number;
}

/**
 * Each cached pod's summed container requests. Cached pods are frozen and replaced on every
 * change, so the object itself is the key: a namespace's figures on every GET cost a lookup per
 * pod instead of parsing its quantities again.
 */
const podRequests = new WeakMap<PodObject, { cpu: number; memory: number }>();

function requestsOfPod(pod: PodObject): { cpu: number; memory: number } {
  let figures = podRequests.get(pod);
  if (!figures) {
    figures = { cpu: 0, memory: 0 };
    for (const container of pod.spec?.containers ?? []) {
      figures.cpu += milliCores(container.resources?.requests?.cpu);
      figures.memory += bytes(container.resources?.requests?.memory);
    }
    if (Object.isFrozen(pod)) podRequests.set(pod, figures);
  }
  return figures;
}

/** The container requests of the non-terminated pods among `pods`, and their count. */
export function requestsOf(pods: readonly PodObject[]): RequestFigures {
  let cpuUsed = 0;
  let memoryUsed = 0;
  let podUsed = 0;
  for (const p of pods) {
    if (isTerminated(p)) continue;
    podUsed++;
    const figures = requestsOfPod(p);
    cpuUsed += figures.cpu;
    memoryUsed += figures.memory;
  }
  return { cpuUsed, memoryUsed, podUsed };
}

/**
 * requestsOf per namespace, kept by the pod store on every write (cpuUsed, memoryUsed, podUsed):
 * a namespace's figures are a lookup, whatever its number of pods.
 */
export const NAMESPACE_REQUESTS: NamespaceTally<PodObject> = {
  width: 3,
  measure(pod) {
    if (isTerminated(pod)) return undefined;
    const figures = requestsOfPod(pod);
    return [figures.cpu, figures.memory, 1];
  },
};

/** A namespace's requests from the pod store's NAMESPACE_REQUESTS tally. */
export function namespaceRequests(pods: ObjectReader<PodObject>, namespace: string): RequestFigures {
  const [cpuUsed = 0, memoryUsed = 0, podUsed = 0] = pods.namespaceTotals(NAMESPACE_REQUESTS, namespace);
  return { cpuUsed, memoryUsed, podUsed };
}
