import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { clusterLayout, readState } from '../../scripts/testenv/cluster-layout.js';
import { etcdCompactAll, etcdDelete } from '../helpers/etcd.js';
import { parseExposition, valueOf } from '../helpers/metrics.js';
import { eventually, testCluster, type TestCluster } from '../helpers/world.js';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

const NAME = 'zc-outage';
const ENV = { ZCLOUD_HEALTH_INTERVAL: '1s', ZCLOUD_WATCH_TIMEOUT: '60s' } as const;

/** The apiserver goes away and comes back; zcloud must notice both and end up exact. */
describe('clusters: apiserver outage, relist and start-up', function () {
  this.timeout(240_000);
  let cluster: TestCluster;
  let core: CoreV1Api;
  let zcloud: TestZcloud;
  let admin: string;
  let etcdPort: number;

  const namespaces = async (): Promise<string[]> =>
    (await zcloud.request('GET', `${API}/clusters/${NAME}/namespaces`, { token: admin })).body.data.map((n: { id: string }) => n.id);
  const scrape = async () => parseExposition((await zcloud.request('GET', '/metrics', { token: admin })).text);
  const status = async (): Promise<string> => (await zcloud.request('GET', `${API}/clusters/${NAME}`, { token: admin })).body.status;

  before(async () => {
    cluster = await testCluster(NAME);
    core = cluster.kc.makeApiClient(CoreV1Api);
    etcdPort = readState(clusterLayout(NAME))!.ports.etcdClient;
    zcloud = await startTestZcloud({ env: ENV });
    admin = await zcloud.adminToken();
    const res = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { name: NAME, kubeconfig: cluster.kubeconfig } });
    expect(res.status).to.equal(201);
    await eventually(async () => expect(await status()).to.equal('Running'), { within: 30_000 });
  });
  after(async () => {
    await zcloud?.close();
    await cluster?.destroy();
  });

  it('marks the cluster Unreachable within 30 s and answers 503 below it; Running again after, without what vanished meanwhile', async () => {
    for (const name of ['survivor', 'doomed']) await core.createNamespace({ body: { metadata: { name } } });
    await eventually(async () => expect(await namespaces()).to.include.members(['survivor', 'doomed']), { within: 2000 });

    const stoppedAt = Date.now();
    await cluster.stopComponent('kube-apiserver');
    await eventually(async () => expect(await status()).to.equal('Unreachable'), { within: 30_000, interval: 250 });
    console.log(`      Unreachable ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after the apiserver stopped`);
    const below = await zcloud.request('GET', `${API}/clusters/${NAME}/namespaces`, { token: admin });
    expect(below.status).to.equal(503);
    expect(below.body).to.include({ type: 'error', code: 'ClusterUnavailable', status: 503 });
    expect(below.headers.get('x-zcloud-cluster-state')).to.equal('Unreachable');
    const write = await zcloud.request('POST', `${API}/clusters/${NAME}/namespaces`, { token: admin, body: { name: 'nope' } });
    expect(write.status).to.equal(503);
    // What the ZcloudClusterUnreachable alert reads.
    const down = await scrape();
    expect(valueOf(down, 'zcloud_cluster_state', { cluster: NAME, state: 'Unreachable' })).to.equal(1);
    expect(valueOf(down, 'zcloud_cluster_state', { cluster: NAME, state: 'Running' })).to.equal(0);
    expect(valueOf(down, 'zcloud_cluster_health_probe_duration_seconds_count', { cluster: NAME, outcome: 'error' })).to.be.at.least(2);

    // Behind zcloud's back: remove an object in etcd and compact history, so the old
    // resourceVersion zcloud holds is gone (410) and only a relist can be exact.
    expect(await etcdDelete(etcdPort, '/registry/namespaces/doomed')).to.equal(1);
    await etcdCompactAll(etcdPort);

    // `npm run reliability` (R1 of issue 16) keeps the apiserver down 30 s, answering 503 throughout.
    const outageMs = Number(process.env.ZCLOUD_RELIABILITY_OUTAGE_MS ?? 0);
    while (Date.now() - stoppedAt < outageMs) {
      expect((await zcloud.request('GET', `${API}/clusters/${NAME}/namespaces`, { token: admin })).status).to.equal(503);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    await cluster.start();
    await eventually(async () => expect(await status()).to.equal('Running'), { within: 60_000, interval: 250 });
    await eventually(
      async () => {
        const names = await namespaces();
        expect(names).to.include('survivor');
        expect(names).to.not.include('doomed');
      },
      { within: 10_000 },
    );
    const reflector = zcloud.running.services.clusters.get(NAME)!.cache.informer('namespaces')!.reflector;
    expect(reflector.stats.lists, 'namespaces were listed again').to.be.at.least(2);
  });

  it('relists on 410 Gone when the held resourceVersion was compacted away', async () => {
    const informer = zcloud.running.services.clusters.get(NAME)!.cache.informer('namespaces')!;
    const before = { ...informer.reflector.stats };
    const labels = { cluster: NAME, kind: 'namespaces' };
    const relistsBefore = valueOf(await scrape(), 'zcloud_informer_relists_after_gone_total', labels);
    await core.createNamespace({ body: { metadata: { name: 'gone-probe' } } });
    await eventually(() => expect(informer.store.get(undefined, 'gone-probe')).to.not.equal(undefined), { within: 2000 });
    // Stop the watch with a stale resourceVersion that etcd no longer has.
    await etcdCompactAll(etcdPort);
    await cluster.stopComponent('kube-apiserver');
    expect(await etcdDelete(etcdPort, '/registry/namespaces/gone-probe')).to.equal(1);
    await etcdCompactAll(etcdPort);
    await cluster.start();
    await eventually(() => expect(informer.store.get(undefined, 'gone-probe')).to.equal(undefined), { within: 60_000, interval: 250 });
    expect(informer.reflector.stats.goneRelists, "relists caused by 410 Gone").to.be.greaterThan(before.goneRelists);
    expect(valueOf(await scrape(), 'zcloud_informer_relists_after_gone_total', labels)).to.be.greaterThan(relistsBefore);
    await eventually(async () => expect(await status()).to.equal('Running'), { within: 30_000 });
  });

  it('starts without waiting for an unreachable cluster, and connects when it returns', async () => {
    const dataDir = zcloud.dataDir;
    await zcloud.close();
    await cluster.stopComponent('kube-apiserver');
    const startedAt = Date.now();
    zcloud = await startTestZcloud({ dataDir, env: ENV });
    const startMs = Date.now() - startedAt;
    expect(startMs).to.be.lessThan(5000);
    admin = await zcloud.adminToken();
    expect(['Connecting', 'Unreachable']).to.include(await status());
    await eventually(async () => expect(await status()).to.equal('Unreachable'), { within: 30_000, interval: 250 });
    expect((await zcloud.request('GET', `${API}/clusters/${NAME}/namespaces`, { token: admin })).status).to.equal(503);
    await cluster.start();
    await eventually(async () => expect(await status()).to.equal('Running'), { within: 60_000, interval: 250 });
    expect(await namespaces()).to.include('survivor');
  });
});
