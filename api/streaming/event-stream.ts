import { holdsCluster, holdsNamespace } from '../../src/auth/authorizer.js';
import type { ClusterManager } from '../../src/clusters/cluster-manager.js';
import { ForbiddenError } from '../../src/errors.js';
import type { ClusterEventFeed } from '../../src/streaming/cluster-events.js';
import type { StreamEndpoint } from './gateway.js';

/**
 * `/clusters/{cluster}/event`: the cluster's recent events, then each new one, one JSON object
 * per frame. Admin sees every namespace; a user holding projects in the cluster sees the
 * events of its namespaces only (cluster-level objects' events, in no namespace, are admin's).
 */
export function eventStream(clusters: ClusterManager, feed: ClusterEventFeed): StreamEndpoint {
  return {
    path: '/clusters/{cluster}/event',
    async open({ user, params }) {
      const { cluster } = params;
      clusters.require(cluster);
      if (!user.isAdmin && !holdsCluster(user, cluster)) throw new ForbiddenError(`${user.name} holds no project in cluster ${cluster}`);
      const visible = (namespace: string): boolean => user.isAdmin || (namespace !== '' && holdsNamespace(user, cluster, namespace));
      return (socket) => {
        const stop = feed.listen(cluster, (event) => visible(event.namespace) && socket.send(event));
        socket.onClose(stop);
        for (const event of feed.recent(cluster)) if (visible(event.namespace)) socket.send(event);
      };
    },
  };
}
