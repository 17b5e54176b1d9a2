import type { ClusterRuntime } from '../clusters/cluster-manager.js';
import { ConflictError, ignoreNotFound, NotFoundError } from '../errors.js';
import type { ConfigMapObject } from '../kube/objects.js';

/** Where ingress-nginx reads its UDP forwards: data `"<port>": "<namespace>/<service>:<port>"`. */
export const UDP_SERVICES = { namespace: 'ingress-nginx', name: 'udp-services' } as const;

/**
 * Decides the change to make given the current data: keys to set, or null to remove. Throws a
 * business error (port taken, entry missing) to refuse; that is never retried.
 */
export type UdpServicesChange = (data: Readonly<Record<string, string>>) => Record<string, string | null>;

// Every round of conflicting writers lets at least one through, so this bounds the wait of
// up to 20 simultaneous writers; beyond that the caller gets a 409 and may try again.
const MAX_ATTEMPTS = 20;

/**
 * Applies `change` to the udp-services ConfigMap without losing a concurrent writer's entry:
 * each attempt reads the live object and writes a merge patch carrying its resourceVersion, so
 * the apiserver refuses it (409) if anyone wrote in between, and the change is decided again
 * on fresh data. The namespace and ConfigMap are created when missing.
 */
export async function updateUdpServices(cluster: ClusterRuntime, change: UdpServicesChange): Promise<void> {
  const { namespace, name } = UDP_SERVICES;
  for (let attempt = 1; ; attempt++) {
    const current = await cluster.client.getLive<ConfigMapObject>('configmaps', namespace, name).catch(ignoreNotFound);
    const patch = change(current?.data ?? {});
    try {
      if (current) {
        await cluster.client.mergePatch('configmaps', namespace, name, { metadata: { resourceVersion: current.metadata.resourceVersion }, data: patch });
      } else {
        await ensureNamespace(cluster);
        const data = Object.fromEntries(Object.entries(patch).filter((e): e is [string, string] => e[1] !== null));
        await cluster.client.create<ConfigMapObject>('configmaps', { metadata: { name, namespace }, data });
      }
      return;
    } catch (err) {
      // Conflict: written (or created) by someone else meanwhile. NotFound: deleted meanwhile.
      const raced = err instanceof ConflictError || err instanceof NotFoundError;
      if (!raced || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
}

async function ensureNamespace(cluster: ClusterRuntime): Promise<void> {
  if (cluster.cache.informer('namespaces')?.store.get(undefined, UDP_SERVICES.namespace)) return;
  await cluster.client.create('namespaces', { metadata: { name: UDP_SERVICES.namespace } }).catch((err: unknown) => {
    // Created by a concurrent writer: what we wanted.
    if (!(err instanceof ConflictError)) throw err;
  });
}
