import { CoreV1Api, type V1ResourceQuota } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { parseExposition, valueOf } from '../helpers/metrics.js';
import { eventually } from '../helpers/world.js';
import { API, sha1, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

const CLUSTER = 'uq-main';
const URL = `${API}/userquotas`;

describe('userquota: requests, approval and the reconciler', function () {
  this.timeout(240_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let ann: string;
  let bob: string;

  const request = (ns: string, extra: Record<string, string> = {}) => ({
    namespace: ns,
    cpu: '2',
    memory: '4Gi',
    storage: '10Gi',
    purpose: 'team work',
    requestor: 'Ann',
    telephone: '555-0100',
    ...extra,
  });
  const hardOf = async (ns: string): Promise<Record<string, string> | undefined> =>
    (await core.readNamespacedResourceQuota({ name: 'zcloud-quota', namespace: ns }).catch(() => undefined as V1ResourceQuota | undefined))?.spec?.hard;
  const applied = async (id: string) =>
    eventually(
      async () => {
        const res = await env.api('GET', `${URL}/${id}`);
        expect(res.body.applied, res.body.message).to.equal(true);
        return res.body;
      },
      { within: 60_000, interval: 200 },
    );

  before(async () => {
    // A long health interval: an apiserver stopped in a test stays "Running" to zcloud for a
    // while, so an approval can land on a cluster that is in fact down.
    env = await importedCluster(CLUSTER, { zcloud: { env: { ZCLOUD_HEALTH_INTERVAL: '30s' } } });
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    ann = await env.userWith('ann', []);
    bob = await env.userWith('bob', []);
  });
  after(() => env?.close());

  it('creates a request in processing for any user, validating quantities and the namespace', async () => {
    const res = await env.api('POST', URL, { token: ann, body: request('team-ann') });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.include({
      id: 'team-ann',
      type: 'userquota',
      namespace: 'team-ann',
      status: 'processing',
      requestType: 'create',
      userName: 'ann',
      cpu: '2',
      memory: '4Gi',
      storage: '10Gi',
      applied: false,
    });
    expect(Date.parse(res.body.creationTimestamp)).to.be.closeTo(Date.now(), 10_000);
    const bad = await env.api('POST', URL, { token: ann, body: request('team-x', { memory: 'lots' }) });
    expect(bad.status).to.equal(422);
    expect(bad.body.message).to.match(/^memory: must be a Kubernetes quantity/);
    const badNs = await env.api('POST', URL, { token: ann, body: request('Team_X') });
    expect(badNs.body.message).to.match(/^namespace: /);
    const missing = await env.api('POST', URL, { token: ann, body: { namespace: 'team-y', cpu: '1', memory: '1Gi', storage: '1Gi' } });
    expect(missing.body.message).to.equal('purpose: is required');
    expect((await env.api('POST', URL, { token: bob, body: request('team-ann') })).status).to.equal(409);
    expect((await env.api('POST', URL, { token: bob, body: request('kube-system') })).status).to.equal(409);
  });

  it("never shows a user another user's requests", async () => {
    await env.api('POST', URL, { token: bob, body: request('team-bob') });
    const annList = await env.api('GET', URL, { token: ann });
    expect(annList.body.data.map((q: { id: string }) => q.id)).to.deep.equal(['team-ann']);
    expect((await env.api('GET', `${URL}/team-bob`, { token: ann })).status).to.equal(403);
    expect((await env.api('DELETE', `${URL}/team-bob`, { token: ann })).status).to.equal(403);
    const all = await env.api('GET', URL);
    expect(all.body.data.map((q: { id: string }) => q.id)).to.include.members(['team-ann', 'team-bob']);
  });

  it('approval needs admin and a known cluster; nothing changes otherwise', async () => {
    expect((await env.api('POST', `${URL}/team-ann?action=approval`, { token: ann, body: { clusterName: CLUSTER } })).status).to.equal(403);
    const unknown = await env.api('POST', `${URL}/team-ann?action=approval`, { body: { clusterName: 'atlantis' } });
    expect(unknown.status).to.equal(422);
    expect(unknown.body.message).to.match(/^clusterName: /);
    expect((await env.api('GET', `${URL}/team-ann`)).body.status).to.equal('processing');
    expect(await core.readNamespace({ name: 'team-ann' }).catch(() => 'absent')).to.equal('absent');
  });

  const scrape = async () => parseExposition((await env.api('GET', '/metrics')).text);

  it('approval creates the namespace, a ResourceQuota with all three limits, and grants the project', async () => {
    const metricsBefore = await scrape();
    const res = await env.api('POST', `${URL}/team-ann?action=approval`, { body: { clusterName: CLUSTER } });
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.include({ status: 'approval', clusterName: CLUSTER });
    expect(res.body.responseTimestamp).to.be.a('string');
    await applied('team-ann');
    expect(await hardOf('team-ann')).to.deep.equal({ 'requests.cpu': '2', 'requests.memory': '4Gi', 'requests.storage': '10Gi' });
    // What kubectl users see: `kubectl get ns,resourcequota -l zcloud.cn/userquota`
    const labelled = await core.listNamespace({ labelSelector: 'zcloud.cn/userquota' });
    expect(labelled.items.map((n) => n.metadata?.name)).to.include('team-ann');
    const quotas = await core.listResourceQuotaForAllNamespaces({ labelSelector: 'zcloud.cn/userquota=team-ann' });
    expect(quotas.items).to.have.length(1);
    expect(quotas.items[0].metadata?.annotations?.['zcloud.cn/owner']).to.equal('ann');
    const user = await env.api('GET', `${API}/users/ann`);
    expect(user.body.projects).to.deep.equal([{ cluster: CLUSTER, namespace: 'team-ann' }]);
    // The grant works at once with the token ann already has; elsewhere still 403.
    for (const kind of ['deployments', 'configmaps']) {
      const own = await env.api('GET', `${env.nsPath('team-ann')}/${kind}`, { token: ann });
      expect(own.status, kind).to.equal(200);
      expect((await env.api('GET', `${env.nsPath('default')}/${kind}`, { token: ann })).status, kind).to.equal(403);
    }
    const audit = await env.api('GET', `${API}/auditlogs`);
    const actions = audit.body.data.filter((e: { user: string }) => e.user === 'zcloud:userquota-controller').map((e: { verb: string }) => e.verb);
    expect(actions).to.include.members(['create', 'grant']);
    // The approval moved the controller's counters.
    const metricsAfter = await scrape();
    const grew = (name: string, labels: Record<string, string>) => valueOf(metricsAfter, name, labels) - valueOf(metricsBefore, name, labels);
    expect(grew('workqueue_adds_total', { name: 'userquota' })).to.be.at.least(1);
    // An applied quota is re-checked periodically, so its reconciles end in "requeue", not "success".
    const finished = grew('controller_runtime_reconcile_total', { controller: 'userquota' }) - grew('controller_runtime_reconcile_total', { controller: 'userquota', result: 'error' });
    expect(finished).to.be.at.least(1);
    expect(grew('controller_runtime_reconcile_total', { controller: 'userquota', result: 'requeue' })).to.be.at.least(1);
    expect(grew('controller_runtime_reconcile_time_seconds_count', { controller: 'userquota' })).to.be.at.least(1);
    expect(grew('workqueue_work_duration_seconds_count', { name: 'userquota' })).to.be.at.least(1);
    expect(valueOf(metricsAfter, 'workqueue_depth', { name: 'userquota' })).to.equal(0);
    expect(grew('zcloud_http_requests_total', { route: `${URL}/{userquota_id}`, method: 'POST', status: '200' })).to.be.at.least(1);
  });

  it('puts back a ResourceQuota edited or deleted in the cluster', async () => {
    await core.patchNamespacedResourceQuota(
      { name: 'zcloud-quota', namespace: 'team-ann', body: [{ op: 'replace', path: '/spec/hard/requests.cpu', value: '64' }] },
    );
    await eventually(async () => expect((await hardOf('team-ann'))?.['requests.cpu']).to.equal('2'), { within: 10_000, interval: 200 });
    await core.deleteNamespacedResourceQuota({ name: 'zcloud-quota', namespace: 'team-ann' });
    await eventually(async () => expect(await hardOf('team-ann')).to.deep.equal({ 'requests.cpu': '2', 'requests.memory': '4Gi', 'requests.storage': '10Gi' }), {
      within: 10_000,
      interval: 200,
    });
  });

  it('update: owner only, not while processing; back to processing; approval applies the new limits', async () => {
    const body = request('team-ann', { cpu: '4', memory: '8Gi', storage: '20Gi', clusterName: CLUSTER });
    expect((await env.api('PUT', `${URL}/team-ann`, { token: bob, body })).status).to.equal(403);
    const res = await env.api('PUT', `${URL}/team-ann`, { token: ann, body });
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.include({ status: 'processing', requestType: 'update', cpu: '4' });
    expect((await env.api('PUT', `${URL}/team-ann`, { token: ann, body })).status).to.equal(409);
    // Until approved, the earlier limits stay in force.
    expect((await hardOf('team-ann'))?.['requests.cpu']).to.equal('2');
    await env.api('POST', `${URL}/team-ann?action=approval`, { body: { clusterName: CLUSTER } });
    await eventually(async () => expect(await hardOf('team-ann')).to.deep.equal({ 'requests.cpu': '4', 'requests.memory': '8Gi', 'requests.storage': '20Gi' }), {
      within: 10_000,
      interval: 200,
    });
  });

  it('reject needs a reason; with one the request is rejected and nothing is created', async () => {
    const noReason = await env.api('POST', `${URL}/team-bob?action=reject`, { body: {} });
    expect(noReason.status).to.equal(422);
    expect(noReason.body.message).to.equal('reason: is required');
    expect((await env.api('POST', `${URL}/team-bob?action=reject`, { body: { reason: '  ' } })).status).to.equal(422);
    const res = await env.api('POST', `${URL}/team-bob?action=reject`, { body: { reason: 'no budget' } });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ status: 'rejection', rejectionReason: 'no budget' });
    expect(res.body.responseTimestamp).to.be.a('string');
    expect(await core.readNamespace({ name: 'team-bob' }).catch(() => 'absent')).to.equal('absent');
    expect((await env.api('GET', `${API}/users/bob`)).body.projects).to.deep.equal([]);
  });

  it('delete revokes the project and deletes the namespace the approval created', async () => {
    const res = await env.api('DELETE', `${URL}/team-ann`, { token: ann });
    expect(res.status).to.equal(204);
    await eventually(async () => expect((await env.api('GET', `${URL}/team-ann`)).status).to.equal(404), { within: 20_000, interval: 200 });
    expect((await env.api('GET', `${API}/users/ann`)).body.projects).to.deep.equal([]);
    const ns = await core.readNamespace({ name: 'team-ann' }).catch(() => undefined);
    expect(ns === undefined || Boolean(ns.metadata?.deletionTimestamp)).to.equal(true);
  });

  it('never deletes a namespace it did not create', async () => {
    await core.createNamespace({ body: { metadata: { name: 'pre-existing' } } });
    await env.api('POST', URL, { token: bob, body: request('pre-existing') });
    await env.api('POST', `${URL}/pre-existing?action=approval`, { body: { clusterName: CLUSTER } });
    await applied('pre-existing');
    expect((await core.readNamespace({ name: 'pre-existing' })).metadata?.labels?.['zcloud.cn/userquota']).to.equal('pre-existing');
    await env.api('DELETE', `${URL}/pre-existing`);
    await eventually(async () => expect((await env.api('GET', `${URL}/pre-existing`)).status).to.equal(404), { within: 20_000, interval: 200 });
    const ns = await core.readNamespace({ name: 'pre-existing' });
    expect(ns.metadata?.deletionTimestamp).to.equal(undefined);
    expect((await env.api('GET', `${API}/users/bob`)).body.projects).to.deep.equal([]);
  });

  it('an approval that lands while the cluster is down completes after it returns', async () => {
    await env.api('POST', URL, { token: bob, body: request('team-late') });
    await env.cluster.stopComponent('kube-apiserver');
    try {
      const res = await env.api('POST', `${URL}/team-late?action=approval`, { body: { clusterName: CLUSTER } });
      expect(res.status, 'the cluster is reconnecting, not yet known Unreachable (30 s health interval)').to.equal(200);
      await eventually(
        async () => {
          const q = (await env.api('GET', `${URL}/team-late`)).body;
          expect(q.applied).to.equal(false);
          expect(q.message).to.match(/waiting for cluster/);
        },
        { within: 20_000, interval: 200 },
      );
    } finally {
      await env.cluster.start();
    }
    await applied('team-late');
    expect((await hardOf('team-late'))?.['requests.memory']).to.equal('4Gi');
  });

  it('a zcloud restart in the middle of applying finishes the job; an Unreachable cluster refuses approvals', async () => {
    await env.api('POST', URL, { token: bob, body: request('team-restart') });
    await env.api('POST', URL, { token: bob, body: request('team-refused') });
    await env.cluster.stopComponent('kube-apiserver');
    let restarted: TestZcloud | undefined;
    try {
      const approval = await env.api('POST', `${URL}/team-restart?action=approval`, { body: { clusterName: CLUSTER } });
      expect(approval.status, approval.text).to.equal(200);
      const dataDir = env.zcloud.dataDir;
      await env.zcloud.close();
      const zcloud = (restarted = await startTestZcloud({ dataDir, env: { ZCLOUD_HEALTH_INTERVAL: '1s' } }));
      const admin = await zcloud.adminToken();
      await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/${CLUSTER}`, { token: admin })).body.status).to.equal('Unreachable'), {
        within: 30_000,
        interval: 200,
      });
      const refused = await zcloud.request('POST', `${URL}/team-refused?action=approval`, { token: admin, body: { clusterName: CLUSTER } });
      expect(refused.status).to.equal(503);
      expect(refused.body.code).to.equal('ClusterUnavailable');
      const unchanged = await zcloud.request('GET', `${URL}/team-refused`, { token: admin });
      expect(unchanged.body).to.include({ status: 'processing', clusterName: '' });
      await env.cluster.start();
      await eventually(
        async () => {
          const q = await zcloud.request('GET', `${URL}/team-restart`, { token: admin });
          expect(q.body.applied, q.body.message).to.equal(true);
        },
        { within: 60_000, interval: 200 },
      );
      expect((await hardOf('team-restart'))?.['requests.storage']).to.equal('10Gi');
      const bobToken = await zcloud.login('bob', sha1('bob-pw'));
      expect((await zcloud.request('GET', `${API}/users/bob`, { token: bobToken })).body.projects).to.deep.include({ cluster: CLUSTER, namespace: 'team-restart' });
    } finally {
      await env.cluster.start();
      await restarted?.close();
    }
  });

  it('a zcloud stopped in the middle of deleting requests still deletes their namespaces after restart', async () => {
    // The previous test leaves zcloud stopped: this one runs its own on the same data dir.
    const dataDir = env.zcloud.dataDir;
    let zcloud = await startTestZcloud({ dataDir, env: { ZCLOUD_HEALTH_INTERVAL: '1s' } });
    const names = ['team-stop-1', 'team-stop-2', 'team-stop-3'];
    try {
      let admin = await zcloud.adminToken();
      const bobToken = await zcloud.login('bob', sha1('bob-pw'));
      await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/${CLUSTER}`, { token: admin })).body.status).to.equal('Running'), {
        within: 30_000,
        interval: 200,
      });
      for (const name of names) {
        expect((await zcloud.request('POST', URL, { token: bobToken, body: request(name) })).status).to.equal(201);
        expect((await zcloud.request('POST', `${URL}/${name}?action=approval`, { token: admin, body: { clusterName: CLUSTER } })).status).to.equal(200);
      }
      for (const name of names) {
        await eventually(async () => expect((await zcloud.request('GET', `${URL}/${name}`, { token: admin })).body.applied).to.equal(true), { within: 60_000, interval: 200 });
      }
      // Delete all three and stop at once: the reconciler is cut off somewhere in revoke → delete namespace → forget.
      for (const name of names) expect((await zcloud.request('DELETE', `${URL}/${name}`, { token: admin })).status).to.equal(204);
      await zcloud.close();
      zcloud = await startTestZcloud({ dataDir, env: { ZCLOUD_HEALTH_INTERVAL: '1s' } });
      admin = await zcloud.adminToken();
      for (const name of names) {
        await eventually(
          async () => {
            expect((await zcloud.request('GET', `${URL}/${name}`, { token: admin })).status, name).to.equal(404);
            const ns = await core.readNamespace({ name }).catch(() => undefined);
            expect(ns === undefined || Boolean(ns.metadata?.deletionTimestamp), `namespace ${name} is being deleted`).to.equal(true);
          },
          { within: 30_000, interval: 200 },
        );
      }
      const projects = (await zcloud.request('GET', `${API}/users/bob`, { token: admin })).body.projects as Array<{ namespace: string }>;
      expect(projects.filter((p) => names.includes(p.namespace))).to.deep.equal([]);
    } finally {
      await zcloud.close();
    }
  });
});
