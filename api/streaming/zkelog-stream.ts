import type { ClusterManager } from '../../src/clusters/cluster-manager.js';
import { ForbiddenError, NotFoundError } from '../../src/errors.js';
import type { ProvisioningLog } from '../../src/provisioning/provisioning-log.js';
import type { StreamEndpoint } from './gateway.js';

/**
 * `/clusters/{cluster}/zkelog`: the provisioning log of a cluster zcloud provisions (admin
 * only, as provisioning is): the lines so far, then each new one, one line per frame.
 */
export function zkelogStream(clusters: ClusterManager, log: ProvisioningLog): StreamEndpoint {
  return {
    path: '/clusters/{cluster}/zkelog',
    async open({ user, params }) {
      const { cluster } = params;
      if (!user.isAdmin) throw new ForbiddenError('only admin may read the provisioning log');
      if (!(await clusters.record(cluster))) throw new NotFoundError(`cluster ${cluster} not found`);
      return (socket) => {
        const stop = log.listen(cluster, (line) => socket.send(line));
        socket.onClose(stop);
        for (const line of log.lines(cluster)) socket.send(line);
      };
    },
  };
}
