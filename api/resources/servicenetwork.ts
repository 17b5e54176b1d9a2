import type { ServiceObject } from '../../src/kube/objects.js';
import { serviceNetworks } from '../../src/views/networks.js';
import { readCache } from '../cluster-access.js';
import { defineResource } from '../framework/resource.js';

/**
 * `{name: "<namespace>/<service>", ip}` per service cluster IP (headless excluded). The id is
 * `<namespace>.<service>`: neither part may contain a dot, so it is unique and URL-safe.
 */
export const servicenetworkResource = defineResource({
  kind: 'servicenetwork',
  parents: ['cluster'],
  list: async (ctx) =>
    serviceNetworks(readCache<ServiceObject>(ctx, 'services').store.list()).map((s) => ({ id: s.name.replace('/', '.'), ...s })),
});
