import type { NodeObject, PodObject } from '../../src/kube/objects.js';
import { podNetworks } from '../../src/views/networks.js';
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
