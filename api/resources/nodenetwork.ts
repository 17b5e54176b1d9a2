import type { NodeObject } from '../../src/kube/objects.js';
import { nodeNetworks } from '../../src/views/networks.js';
import { readCache } from '../cluster-access.js';
import { defineResource } from '../framework/resource.js';

/** `{name, ip}` per node: its first InternalIP. */
export const nodenetworkResource = defineResource({
  kind: 'nodenetwork',
  parents: ['cluster'],
  list: async (ctx) => nodeNetworks(readCache<NodeObject>(ctx, 'nodes').store.list()).map((n) => ({ id: n.name, ...n })),
});
