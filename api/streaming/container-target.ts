import { holdsNamespace } from '../../src/auth/authorizer.js';
import type { ClusterManager, ClusterRuntime } from '../../src/clusters/cluster-manager.js';
import { ForbiddenError, NotFoundError } from '../../src/errors.js';
import type { ContainerRef } from '../../src/kube/container-log.js';
import type { PodObject } from '../../src/kube/objects.js';
import type { StreamRequest } from './gateway.js';

/** Below every container stream: `/clusters/{cluster}/namespaces/{namespace}/pods/{pod}/containers/{container}`. */
export const CONTAINER_PATH = '/clusters/{cluster}/namespaces/{namespace}/pods/{pod}/containers/{container}';

/**
 * The container a log or shell request names, checked before the upgrade: admin, or a user
 * holding the namespace (403 otherwise, before anything about the pod is told); the cluster
 * available (404/503); the pod and container known to the cache (404).
 */
export function containerTarget(clusters: ClusterManager, { user, params }: StreamRequest): { runtime: ClusterRuntime; ref: ContainerRef } {
  const { cluster, namespace, pod, container } = params as Record<'cluster' | 'namespace' | 'pod' | 'container', string>;
  clusters.require(cluster);
  if (!user.isAdmin && !holdsNamespace(user, cluster, namespace)) throw new ForbiddenError(`no project grants namespace ${namespace} of cluster ${cluster} to ${user.name}`);
  const { runtime, store } = clusters.availableStore<PodObject>(cluster, 'pods');
  const found = store.get(namespace, pod);
  if (!found) throw new NotFoundError(`pod ${namespace}/${pod} not found in cluster ${cluster}`);
  if (!found.spec?.containers?.some((c) => c.name === container)) throw new NotFoundError(`pod ${namespace}/${pod} has no container ${container}`);
  return { runtime, ref: { namespace, pod, container } };
}
