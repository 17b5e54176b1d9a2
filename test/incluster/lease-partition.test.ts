import { CoordinationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { KubeHttp } from '../../src/kube/kube-http.js';
import { LeaderElection, LeadershipLostError } from '../../src/leader-election.js';
import { createLogger } from '../../src/logger.js';
import { untilAborted, type Runnable } from '../../src/manager.js';
import { eventually, freshNamespace, testCluster, type TestCluster } from '../helpers/world.js';

/**
 * A leader cut off from the apiserver stops what it leads before its Lease can count as
 * expired to anyone else (renew deadline 7 s < lease duration 10 s).
 */
describe('leader election: a partitioned leader', function () {
  this.timeout(120_000);
  let cluster: TestCluster;

  before(async () => {
    cluster = await testCluster('incluster-lease');
  });
  after(() => cluster?.destroy());

  it('stops its reconcilers within the lease duration of its last renewal, then fails', async () => {
    const namespace = await freshNamespace(cluster.kc, 'lease');
    let stoppedAt = 0;
    const reconcilers: Runnable = {
      name: 'reconcilers',
      start: async (signal) => {
        await untilAborted(signal);
        stoppedAt = Date.now();
      },
    };
    const http = new KubeHttp(cluster.kc);
    const election = new LeaderElection({ http, namespace, lease: 'partition', identity: 'replica-a', leading: [reconcilers], logger: createLogger({ level: 'error' }) });
    const stop = new AbortController();
    const running = election.start(stop.signal);
    try {
      await eventually(() => expect(election.isLeader).to.equal(true), { within: 10_000 });
      const lease = await cluster.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'partition', namespace });
      expect(lease.spec?.holderIdentity).to.equal('replica-a');
      await cluster.stopComponent('kube-apiserver');
      const cutAt = Date.now();
      const outcome = await running.then(() => undefined, (err: unknown) => err);
      expect(outcome).to.be.instanceOf(LeadershipLostError);
      const lastRenewal = election.renewedAt!;
      expect(lastRenewal).to.be.at.most(cutAt);
      expect(stoppedAt).to.be.greaterThan(cutAt);
      // Another replica counts the Lease expired 10 s after it last saw it change, i.e. after this renewal at the earliest.
      expect(stoppedAt - lastRenewal).to.be.below(10_000);
      expect(election.isLeader).to.equal(false);
    } finally {
      stop.abort();
      await running.catch(() => undefined);
      http.close();
    }
  });
});
