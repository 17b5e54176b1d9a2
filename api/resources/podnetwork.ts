import type { PodObject } from '../../src/kube/pod-status.js';
import { podNetworks, type NodeObject } from '../../src/views/networks.js';
import { readCache } from '../cluster-access.js';
import { defineResource } from '../framework/resource.js';

/** `{nodeName, podCIDR, podIPs: [{name: "<namespace>/<pod>", ip}]}` per node, for running pods on the pod network. */
export const podnetworkResource = defineResource({
  kind: 'podnetwork',
  parents: ['cluster'],
  list: async (ctx) => {
    const nodes = readCache<NodeObject>(ctx, 'nodes').store.list();
    const pods = readCache<PodObject>(ctx, 'pods').store.list();
    return podNetworks(nodes, pods).map((n) => ({ id: n.nodeName, ...n }));
  },
});
