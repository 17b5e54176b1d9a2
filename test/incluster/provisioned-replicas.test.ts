import os from 'node:os';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { ADMIN_DEFAULT_SHA1 } from '../../src/users.js';
import { parseExposition, valueOf } from '../helpers/metrics.js';
import { eventually, freshNamespace, sharedTestCluster, testCluster, type TestCluster } from '../helpers/world.js';
import { API, tempDir } from '../helpers/zcloud.js';
import { callZcloud, killStartedProcesses, loginAt, startZcloudProcess, type ZcloudProcess } from '../helpers/zcloud-process.js';

const setName = 'repl-prov';
const METRICS_TOKEN = 'metrics-token-for-the-follow-test';
signalHostSetOnExit(setName);

/**
 * A cluster provisioned on a real host, with two zcloud processes on one kubernetes store: the
 * replica that does not hold the Lease follows it. Asked for through the follower, the leader
 * runs it; the follower shows Creating, then Running and serves it from its own cache; deleted
 * through the leader, the follower stops serving it and forgets it, and its Secret (the SSH key)
 * goes. A cancel, a delete and a block device discovery asked through the follower are carried
 * out by the leader.
 */
describe('provisioned clusters followed across replicas (real host)', function () {
  this.timeout(600_000);
  let cluster: TestCluster;
  let set: HostSetInfo;

  const provisioningReconciles = async (replica: ZcloudProcess): Promise<number> => {
    const res = await fetch(`${replica.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    return valueOf(parseExposition(await res.text()), 'controller_runtime_reconcile_total', { controller: 'cluster-provisioning' });
  };

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 1 });
    cluster = await testCluster(sharedTestCluster);
  });
  after(async function () {
    this.timeout(180_000);
    try {
      await killStartedProcesses();
    } finally {
      await destroyHosts(setName);
    }
  });

  it('a follower shows the phase, attaches and serves the cluster once Running, and detaches it when the leader deletes it; cancel and delete through the follower reach the leader', async () => {
    const namespace = await freshNamespace(cluster.kc, 'follow');
    const env = () => ({ ZCLOUD_DATA_DIR: tempDir(), ZCLOUD_STORE: 'kubernetes', ZCLOUD_STORE_KUBECONFIG: cluster.kubeconfigPath, ZCLOUD_STORE_NAMESPACE: namespace, ZCLOUD_HEALTH_INTERVAL: '1s', ZCLOUD_METRICS_TOKEN: METRICS_TOKEN });
    const replicas: ZcloudProcess[] = [await startZcloudProcess({ env: env() }), await startZcloudProcess({ env: env() })];
    const leaderId = await eventually(async () => {
      const id = (await cluster.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'zcloud-leader', namespace })).spec?.holderIdentity;
      expect(replicas.map((r) => `${os.hostname()}-${r.pid}`)).to.include(id);
      return id!;
    });
    const leader = replicas.find((r) => `${os.hostname()}-${r.pid}` === leaderId)!;
    const follower = replicas.find((r) => r !== leader)!;
    const admin = await loginAt(follower.url, 'admin', ADMIN_DEFAULT_SHA1);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const get = (replica: ZcloudProcess, path: string) => callZcloud(replica.url, 'GET', `${API}${path}`, admin);

    const host = set.hosts.nodes[0]!;
    const createBody = {
      name: 'prov',
      nodes: [{ name: host.name, address: host.address, roles: ['controlplane', 'etcd', 'worker'] }],
      sshUser: set.hosts.sshUser,
      sshKey: set.hosts.sshKey,
      singleCloudAddress: '127.0.0.1:8080',
    };
    const created = await callZcloud(follower.url, 'POST', `${API}/clusters`, admin, createBody);
    expect(created.status, created.text).to.equal(201);
    expect((await get(follower, '/clusters/prov')).body.status).to.equal('Creating');
    // The SSH key is in the cluster's Secret, not in its object.
    const keyLine = set.hosts.sshKey.split('\n')[3]!;
    const objects = cluster.kc.makeApiClient(CustomObjectsApi);
    expect(JSON.stringify(await objects.getNamespacedCustomObject({ group: 'zcloud.cn', version: 'v1', namespace, plural: 'clusters', name: 'prov' }))).to.not.include(keyLine);
    const secretValues = async () => Object.values((await core.readNamespacedSecret({ name: 'zcloud-cluster-prov', namespace })).data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8'));
    expect(await secretValues()).to.include(set.hosts.sshKey);

    // The leader runs it; the follower, never restarted, sees it Running and serves it from its cache.
    for (const replica of [leader, follower]) {
      await eventually(async () => expect((await get(replica, '/clusters/prov')).body.status).to.equal('Running'), { within: 300_000, interval: 2_000 });
    }
    await eventually(async () => {
      const nodes = await get(follower, '/clusters/prov/nodes');
      expect(nodes.status, nodes.text).to.equal(200);
      expect(nodes.body.data.map((n: { name: string }) => n.name)).to.deep.equal([host.name]);
    }, { within: 180_000, interval: 2_000 });
    expect(await provisioningReconciles(follower)).to.equal(0);
    expect(await provisioningReconciles(leader)).to.be.greaterThan(0);

    // A block device discovery asked through the follower is run by the leader: the request travels on the node.
    const asked = await callZcloud(follower.url, 'POST', `${API}/clusters/prov/blockdevices/${host.name}?action=discover`, admin);
    expect(asked.status, asked.text).to.equal(200);
    const provisioned = new KubeConfig();
    provisioned.loadFromString((await callZcloud(follower.url, 'POST', `${API}/clusters/prov?action=getkubeconfig`, admin)).body.config);
    await eventually(async () => {
      const annotations = (await provisioned.makeApiClient(CoreV1Api).readNode({ name: host.name })).metadata?.annotations ?? {};
      expect(annotations['storage.zcloud.cn/blockdevices-requested']).to.be.a('string');
      expect(annotations['storage.zcloud.cn/blockdevices-requested-served']).to.equal(annotations['storage.zcloud.cn/blockdevices-requested']);
    }, { within: 60_000, interval: 1_000 });

    expect((await callZcloud(leader.url, 'DELETE', `${API}/clusters/prov`, admin)).status).to.equal(204);
    await eventually(async () => expect((await get(follower, '/clusters/prov/nodes')).status).to.not.equal(200), { within: 10_000, interval: 250 });
    for (const replica of [leader, follower]) {
      await eventually(async () => expect((await get(replica, '/clusters/prov')).status).to.equal(404), { within: 180_000, interval: 1_000 });
    }
    expect((await get(follower, '/clusters')).body.data).to.deep.equal([]);
    await eventually(async () => expect((await core.listNamespacedSecret({ namespace })).items.map((s) => s.metadata?.name)).to.not.include('zcloud-cluster-prov'), { within: 10_000, interval: 250 });

    // A cancel through the follower stops the leader's run (or ends it before it starts); a
    // delete through the follower reaches the leader too.
    expect((await callZcloud(follower.url, 'POST', `${API}/clusters`, admin, { ...createBody, name: 'stop' })).status).to.equal(201);
    const canceled = await callZcloud(follower.url, 'POST', `${API}/clusters/stop?action=cancel`, admin);
    expect(canceled.status, canceled.text).to.equal(200);
    expect(canceled.body.status).to.equal('Canceling');
    for (const replica of [leader, follower]) {
      await eventually(async () => expect((await get(replica, '/clusters/stop')).body.status).to.equal('CreateFailed'), { within: 30_000, interval: 500 });
    }
    expect((await callZcloud(follower.url, 'DELETE', `${API}/clusters/stop`, admin)).status).to.equal(204);
    for (const replica of [leader, follower]) {
      await eventually(async () => expect((await get(replica, '/clusters/stop')).status).to.equal(404), { within: 180_000, interval: 1_000 });
    }
  });
});
