import type { KubeObject } from '../kube/kube-object.js';
import type { NodeObject, PodObject, ServiceObject } from '../kube/objects.js';
import { byKey } from './view-sources.js';


export interface NodeNetwork {
  name: string;
  ip: string;
}

export interface PodNetwork {
  nodeName: string;
  podCIDR: string;
  podIPs: Array<{ name: string; ip: string }>;
}

export interface ServiceNetwork {
  name: string;
  ip: string;
}

/** Cluster-wide lists name namespaced objects as kubectl does: `<namespace>/<name>`. */
export function qualifiedName(object: KubeObject): string {
  return `${object.metadata.namespace}/${object.metadata.name}`;
}

/** Each node and its first InternalIP ('' before the kubelet reports one), sorted by name. */
export function nodeNetworks(nodes: readonly NodeObject[]): NodeNetwork[] {
  return nodes
    .map((node) => ({ name: node.metadata.name, ip: node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '' }))
    .sort(byKey((n) => n.name));
}

/** Pods holding an address of their node's pod network: running, not on the host's network. */
function onPodNetwork(pod: PodObject): boolean {
  return pod.status?.phase === 'Running' && !pod.spec?.hostNetwork && Boolean(pod.status.podIP) && Boolean(pod.spec?.nodeName);
}

/**
 * Per node (sorted by name): its pod CIDR and the pods using addresses from it. Pods bound to a
 * node the cache does not hold (yet) still get an entry, with an empty CIDR.
 */
export function podNetworks(nodes: readonly NodeObject[], pods: readonly PodObject[]): PodNetwork[] {
  const byNode = new Map<string, PodNetwork>();
  for (const node of nodes) byNode.set(node.metadata.name, { nodeName: node.metadata.name, podCIDR: node.spec?.podCIDR ?? '', podIPs: [] });
  for (const pod of pods) {
    if (!onPodNetwork(pod)) continue;
    const nodeName = pod.spec!.nodeName!;
    let network = byNode.get(nodeName);
    if (!network) byNode.set(nodeName, (network = { nodeName, podCIDR: '', podIPs: [] }));
    network.podIPs.push({ name: qualifiedName(pod), ip: pod.status!.podIP! });
  }
  const networks = [...byNode.values()].sort(byKey((n) => n.nodeName));
  for (const network of networks) network.podIPs.sort(byKey((p) => p.name));
  return networks;
}

/** Services with a cluster IP (headless and ExternalName ones have none), sorted by name. */
export function serviceNetworks(services: readonly ServiceObject[]): ServiceNetwork[] {
  return services
    .filter((s) => s.spec?.clusterIP && s.spec.clusterIP !== 'None')
    .map((s) => ({ name: qualifiedName(s), ip: s.spec!.clusterIP! }))
    .sort(byKey((s) => s.name));
}
