import { capacityOfNodes, nodeRoles } from '../../src/clusters/cluster-metrics.js';
import type { NodeObject, PodObject } from '../../src/kube/objects.js';
import { evictPods, type DrainResult } from '../../src/nodes/drain.js';
import { clusterOf, readCache } from '../cluster-access.js';
import { defineAction, defineResource, type ApiObject, type RequestContext } from '../framework/resource.js';



export type NodeStatus = 'Ready' | 'NotReady' | 'Cordoned';

/** NotReady wins over Cordoned: a node that is down is the more urgent news. */
export function nodeStatus(node: NodeObject): NodeStatus {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (!ready) return 'NotReady';
  return node.spec?.unschedulable ? 'Cordoned' : 'Ready';
}

/** The address other machines reach the node at: InternalIP, else ExternalIP, else any. */
export function nodeAddress(node: NodeObject): string {
  const addresses = node.status?.addresses ?? [];
  for (const type of ['InternalIP', 'ExternalIP']) {
    const found = addresses.find((a) => a.type === type);
    if (found) return found.address;
  }
  return addresses[0]?.address ?? '';
}

/**
 * Kubernetes → zcloud. Capacity and usage come from the same figures as the cluster's
 * (cluster-metrics), for this one node: `pods` may be all pods or only this node's.
 * `dockerVersion` is the container runtime as the kubelet reports it ("containerd://1.6.20").
 */
export function nodeToApi(node: NodeObject, pods: readonly PodObject[]): ApiObject {
  const info = node.status?.nodeInfo ?? {};
  return {
    id: node.metadata.name,
    name: node.metadata.name,
    status: nodeStatus(node),
    address: nodeAddress(node),
    roles: nodeRoles(node),
    labels: { ...(node.metadata.labels ?? {}) },
    annotations: { ...(node.metadata.annotations ?? {}) },
    operatingSystem: info.operatingSystem ?? '',
    operatingSystemImage: info.osImage ?? '',
    dockerVersion: info.containerRuntimeVersion ?? '',
    ...capacityOfNodes([node], pods),
    creationTimestamp: node.metadata.creationTimestamp,
  };
}

function podsByNode(pods: readonly PodObject[]): Map<string, PodObject[]> {
  const byNode = new Map<string, PodObject[]>();
  for (const pod of pods) {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) continue;
    let list = byNode.get(nodeName);
    if (!list) byNode.set(nodeName, (list = []));
    list.push(pod);
  }
  return byNode;
}

/** Pods bound to the node, of every namespace: node usage is a cluster-wide total. */
function podsOn(ctx: RequestContext, nodeName: string): PodObject[] {
  return readCache<PodObject>(ctx, 'pods', 'totals')
    .store.list()
    .filter((pod) => pod.spec?.nodeName === nodeName);
}

/** Sets or clears spec.unschedulable; the answer is the node as the cache then holds it. */
async function setUnschedulable(ctx: RequestContext, id: string, unschedulable: boolean): Promise<ApiObject> {
  // merge-patch null removes the field, as `kubectl uncordon` leaves the node.
  const node = await clusterOf(ctx).client.mergePatch<NodeObject>('nodes', undefined, id, { spec: { unschedulable: unschedulable || null } });
  return nodeToApi(node, podsOn(ctx, id));
}

/**
 * Nodes of a cluster, read-only as the seed declares, plus cordon/uncordon/drain. Actions on
 * cluster-level kinds are admin-only (the authorizer), so normal users with a project in the
 * cluster may look but not touch.
 */
export const nodeResource = defineResource({
  kind: 'node',
  parents: ['cluster'],
  list: async (ctx) => {
    const byNode = podsByNode(readCache<PodObject>(ctx, 'pods', 'totals').store.list());
    return readCache<NodeObject>(ctx, 'nodes')
      .store.list()
      .map((node) => nodeToApi(node, byNode.get(node.metadata.name) ?? []))
      .sort((a, b) => a.id.localeCompare(b.id));
  },
  get: async (ctx, id) => {
    const node = readCache<NodeObject>(ctx, 'nodes').store.get(undefined, id);
    return node && nodeToApi(node, podsOn(ctx, id));
  },
  actions: {
    cordon: defineAction({ run: (ctx, id) => setUnschedulable(ctx, id, true) }),
    uncordon: defineAction({ run: (ctx, id) => setUnschedulable(ctx, id, false) }),
    /**
     * Cordon, then evict every pod of the node except DaemonSet and mirror pods. Answers
     * `{pods: [{namespace, name, result}]}` once every eviction has been answered.
     */
    drain: defineAction({
      run: async (ctx, id): Promise<DrainResult> => {
        await setUnschedulable(ctx, id, true);
        return evictPods(clusterOf(ctx), podsOn(ctx, id));
      },
    }),
  },
});
