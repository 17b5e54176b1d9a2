import os from 'node:os';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { expect } from 'chai';
import { ADMIN_DEFAULT_SHA1 } from '../../src/users.js';
import { parseExposition, valueOf } from '../helpers/metrics.js';
import { eventually, freshNamespace, sharedTestCluster, testCluster, type TestCluster } from '../helpers/world.js';
import { API, sha1, tempDir } from '../helpers/zcloud.js';
import { callZcloud, killStartedProcesses, loginAt, startZcloudProcess, type ZcloudProcess } from '../helpers/zcloud-process.js';

const METRICS_TOKEN = 'metrics-token-for-the-leader-test';

/**
 * Three zcloud processes on one kubernetes store: all serve the API, only the Lease holder
 * reconciles. What a user checks: a quota approved through one replica is applied once and
 * audited once; after kill -9 of the leader another replica holds the Lease within 15 s and
 * the next approval is applied, again once.
 */
describe('leader election: replicas on the kubernetes store', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let namespace: string;
  let replicas: ZcloudProcess[] = [];

  const call = (replica: ZcloudProcess, method: string, urlPath: string, token?: string, body?: unknown) => callZcloud(replica.url, method, urlPath, token, body);
  const login = (replica: ZcloudProcess, name: string, password: string) => loginAt(replica.url, name, password);
  const holder = async (): Promise<string | undefined> =>
    (await cluster.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'zcloud-leader', namespace }).catch(() => undefined))?.spec?.holderIdentity;
  const quotaReconciles = async (replica: ZcloudProcess): Promise<number> => {
    const res = await fetch(`${replica.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    return valueOf(parseExposition(await res.text()), 'controller_runtime_reconcile_total', { controller: 'userquota' });
  };
  const identity = (replica: ZcloudProcess) => `${os.hostname()}-${replica.pid}`;
  /** Audit entries (read from the apiserver, as kubectl would) of the quota controller creating `ns`'s ResourceQuota. */
  const quotaCreations = async (ns: string): Promise<number> => {
    const list = (await cluster.kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: 'zcloud.cn', version: 'v1', namespace, plural: 'auditlogs' })) as { items: { spec: { user: string; verb: string; path: string } }[] };
    return list.items.filter((e) => e.spec.user === 'zcloud:userquota-controller' && e.spec.verb === 'create' && e.spec.path.endsWith(`/namespaces/${ns}/resourcequotas/zcloud-quota`)).length;
  };
  const approve = async (requestOn: ZcloudProcess, approveOn: ZcloudProcess, ns: string) => {
    const dan = await login(requestOn, 'dan', sha1('dan-pass'));
    const requested = await call(requestOn, 'POST', `${API}/userquotas`, dan, { namespace: ns, cpu: '1', memory: '1Gi', storage: '1Gi', purpose: 'p', requestor: 'Dan', telephone: '1' });
    expect(requested.status, requested.text).to.equal(201);
    const admin = await login(approveOn, 'admin', ADMIN_DEFAULT_SHA1);
    const approved = await call(approveOn, 'POST', `${API}/userquotas/${ns}?action=approval`, admin, { clusterName: 'lead' });
    expect(approved.status, approved.text).to.equal(200);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    await eventually(async () => expect((await core.readNamespacedResourceQuota({ name: 'zcloud-quota', namespace: ns })).spec?.hard?.['requests.cpu']).to.equal('1'), { within: 30_000, interval: 250 });
    await eventually(async () => expect((await call(requestOn, 'GET', `${API}/userquotas/${ns}`, dan)).body.applied).to.equal(true), { within: 30_000, interval: 250 });
  };

  before(async () => {
    cluster = await testCluster(sharedTestCluster);
    namespace = await freshNamespace(cluster.kc, 'leader');
  });
  after(() => killStartedProcesses());

  it('reconciles on the leader only, and a new leader takes over within 15 s of a kill -9', async () => {
    const env = () => ({ ZCLOUD_DATA_DIR: tempDir(), ZCLOUD_STORE: 'kubernetes', ZCLOUD_STORE_KUBECONFIG: cluster.kubeconfigPath, ZCLOUD_STORE_NAMESPACE: namespace, ZCLOUD_HEALTH_INTERVAL: '1s', ZCLOUD_LOGIN_MAX_FAILURES: '1000', ZCLOUD_METRICS_TOKEN: METRICS_TOKEN });
    const first = await startZcloudProcess({ env: env() });
    const admin = await login(first, 'admin', ADMIN_DEFAULT_SHA1);
    expect((await call(first, 'POST', `${API}/clusters`, admin, { name: 'lead', kubeconfig: cluster.kubeconfig })).status).to.equal(201);
    expect((await call(first, 'POST', `${API}/users`, admin, { name: 'dan', password: sha1('dan-pass'), projects: [] })).status).to.equal(201);
    replicas = [first, await startZcloudProcess({ env: env() }), await startZcloudProcess({ env: env() })];
    for (const replica of replicas) {
      await eventually(async () => expect((await call(replica, 'GET', `${API}/clusters/lead`, admin)).body.status).to.equal('Running'), { within: 30_000, interval: 250 });
    }
    const leaderId = await eventually(async () => {
      const id = await holder();
      expect(replicas.map(identity)).to.include(id);
      return id!;
    });
    const leader = replicas.find((r) => identity(r) === leaderId)!;
    const followers = replicas.filter((r) => r !== leader);

    // Requested on one follower, approved on the other: the leader applies it.
    await approve(followers[0]!, followers[1]!, 'team-one');
    expect(await quotaCreations('team-one')).to.equal(1);
    expect(await quotaReconciles(leader)).to.be.greaterThan(0);
    for (const follower of followers) expect(await quotaReconciles(follower)).to.equal(0);

    const killedAt = Date.now();
    await leader.kill9();
    const successorId = await eventually(
      async () => {
        const id = await holder();
        expect(followers.map(identity)).to.include(id);
        return id!;
      },
      { within: 15_000, interval: 200 },
    );
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).to.be.at.most(15_000);
    const successor = followers.find((r) => identity(r) === successorId)!;
    const other = followers.find((r) => r !== successor)!;

    await approve(other, other, 'team-two');
    expect(await quotaCreations('team-two')).to.equal(1);
    // The first request was not applied again by the new leader either.
    expect(await quotaCreations('team-one')).to.equal(1);
    expect(await quotaReconciles(other)).to.equal(0);
    // Only the leader ever logged that it leads.
    expect(other.stdout()).to.not.include('became the leader');
    expect(successor.stdout()).to.include('became the leader');
  });
});
