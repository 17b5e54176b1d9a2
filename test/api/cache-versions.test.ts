import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { API } from '../helpers/zcloud.js';

interface Collection {
  data: Array<{ id: string; name?: string; cpuUsed?: number; memoryUsed?: number; podUsed?: number }>;
}

/**
 * Cached collections other than pods, and cached objects, answer from the cluster cache's
 * version: an ETag without hashing the body, 304 while the client holds it. Object GETs of
 * cached kinds are answered outside Express (direct-gets.ts): same answers, same guards.
 */
describe('cached collections and objects: ETag from the cache version, 304', function () {
  this.timeout(180_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let ns: string;

  before(async () => {
    env = await importedCluster('perf-versions');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    apps = env.cluster.kc.makeApiClient(AppsV1Api);
    ns = await freshNamespace(env.cluster.kc, 'versions');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.19' }] } } },
      },
    });
    await eventually(async () => expect((await env.api<Collection>('GET', `${env.nsPath(ns)}/deployments`)).body.data.map((d) => d.id)).to.deep.equal(['web']), { within: 10_000 });
  });
  after(() => env?.close());

  /** The 304 for `path` once the cluster is quiet (simulated nodes post status every 20 s), and the ETag it matched. */
  async function notModified(path: string): Promise<string> {
    return eventually(
      async () => {
        const first = await env.api('GET', path);
        expect(first.status, first.text).to.equal(200);
        const etag = first.headers.get('etag');
        expect(etag).to.match(/^W\/"[A-Za-z0-9_-]+"$/);
        const again = await env.api('GET', path, { headers: { 'if-none-match': etag! } });
        expect(again.status).to.equal(304);
        expect(again.text).to.equal('');
        return etag!;
      },
      { within: 30_000, interval: 500 },
    );
  }

  it('answers deployments and namespaces lists 304 while unchanged, and the change once the cluster changed', async () => {
    const deployments = `${env.nsPath(ns)}/deployments`;
    const namespaces = `${env.clusterPath}/namespaces`;
    const deploymentsTag = await notModified(deployments);
    const namespacesTag = await notModified(namespaces);

    await apps.patchNamespacedDeployment({ name: 'web', namespace: ns, body: [{ op: 'add', path: '/metadata/labels', value: { touched: 'yes' } }] });
    const other = await freshNamespace(env.cluster.kc, 'versions-new');
    await eventually(
      async () => {
        const changed = await env.api<Collection>('GET', namespaces, { headers: { 'if-none-match': namespacesTag } });
        expect(changed.status).to.equal(200);
        expect(changed.headers.get('etag')).to.not.equal(namespacesTag);
        expect(changed.body.data.map((n) => n.id)).to.include(other);
        const deploymentsNow = await env.api('GET', deployments, { headers: { 'if-none-match': deploymentsTag } });
        expect(deploymentsNow.status).to.equal(200);
      },
      { within: 10_000 },
    );
  });

  it('answers a long (streamed) configmaps list with an ETag and 304, which hashing bodies never gave', async () => {
    const configmaps = `${env.nsPath(ns)}/configmaps`;
    for (let i = 0; i < 12; i++) {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `big-${i}` }, data: { blob: 'x'.repeat(2048) } } });
    }
    await eventually(async () => expect((await env.api<Collection>('GET', configmaps)).body.data.filter((c) => c.id.startsWith('big-'))).to.have.length(12), { within: 10_000 });
    const whole = await env.api('GET', configmaps);
    expect(whole.text.length).to.be.greaterThan(16 * 1024);
    await notModified(configmaps);
  });

  it('gives another user (another view) 200, never the admin version', async () => {
    const viewer = await env.userWith('versions-viewer', [{ namespace: ns }]);
    const etag = await notModified(`${env.nsPath(ns)}/deployments`);
    const asViewer = await env.zcloud.request('GET', `${env.nsPath(ns)}/deployments`, { token: viewer, headers: { 'if-none-match': etag } });
    expect(asViewer.status).to.equal(200);
    expect(asViewer.body.data.map((d: { id: string }) => d.id)).to.deep.equal(['web']);
  });

  it('answers a cached object GET with the guards of every request, an ETag and a 304', async () => {
    const path = env.nsPath(ns);
    const got = await env.api('GET', path);
    expect(got.status, got.text).to.equal(200);
    expect(got.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    expect(got.headers.get('x-zcloud-cluster-state')).to.equal('Running');
    expect(got.headers.get('x-zcloud-cache-resource-version')).to.match(/^\d+$/);
    expect(got.headers.get('x-powered-by')).to.equal(null);
    expect(Object.keys(got.body).slice(0, 4)).to.deep.equal(['id', 'type', 'links', 'creationTimestamp']);
    expect(got.body).to.include({ id: ns, type: 'namespace', name: ns, status: 'Active' });
    expect(got.body.links.self).to.equal(`${env.zcloud.url}${path}`);
    await notModified(path);

    expect((await env.zcloud.request('GET', path)).status).to.equal(401);
    expect((await env.zcloud.request('GET', path, { token: 'not-a-token' })).status).to.equal(401);
    const stranger = await env.userWith('versions-stranger', [{ namespace: 'default' }]);
    const refused = await env.zcloud.request('GET', path, { token: stranger });
    expect(refused.status).to.equal(403);
    expect(refused.body).to.include({ type: 'error', status: 403, code: 'PermissionDenied' });
    const missing = await env.api('GET', `${env.clusterPath}/namespaces/no-such-namespace`);
    expect(missing.status).to.equal(404);
    expect(missing.body).to.include({ type: 'error', status: 404, code: 'NotFound' });
    expect((await env.api('GET', `${API}/clusters/no-such-cluster/namespaces/${ns}`)).status).to.equal(404);

    const metrics = await env.api('GET', '/metrics');
    expect(metrics.text).to.match(/zcloud_http_requests_total\{route="\/apis\/zcloud\.cn\/v1\/clusters\/\{cluster_id\}\/namespaces\/\{namespace_id\}",method="GET",status="403"\} [1-9]/);
    const logged = env.zcloud
      .logs()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === 'request' && l.path === path && l.status === 403);
    expect(logged.map((l) => l.user)).to.include('versions-stranger');
  });

  it("keeps a namespace's figures as pods come and go", async () => {
    const path = env.nsPath(ns);
    const before = (await env.api('GET', path)).body;
    const pod = (name: string, cpu: string) => ({
      metadata: { name },
      spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu, memory: '32Mi' } } }] },
    });
    await core.createNamespacedPod({ namespace: ns, body: pod('a', '100m') });
    await core.createNamespacedPod({ namespace: ns, body: pod('b', '300m') });
    await eventually(async () => {
      const body = (await env.api('GET', path)).body;
      expect({ cpu: body.cpuUsed, memory: body.memoryUsed, pods: body.podUsed }).to.deep.equal({
        cpu: before.cpuUsed + 400,
        memory: before.memoryUsed + 2 * 32 * 2 ** 20,
        pods: before.podUsed + 2,
      });
    }, { within: 10_000 });
    await core.deleteNamespacedPod({ name: 'a', namespace: ns, gracePeriodSeconds: 0 });
    await eventually(async () => {
      const body = (await env.api('GET', path)).body;
      expect({ cpu: body.cpuUsed, pods: body.podUsed }).to.deep.equal({ cpu: before.cpuUsed + 300, pods: before.podUsed + 1 });
    }, { within: 10_000 });
    // The namespaces list shows the same figures as the object.
    const listed = (await env.api<Collection>('GET', `${env.clusterPath}/namespaces`)).body.data.find((n) => n.id === ns);
    const single = (await env.api('GET', path)).body;
    expect({ cpu: listed?.cpuUsed, pods: listed?.podUsed }).to.deep.equal({ cpu: single.cpuUsed, pods: single.podUsed });
  });
});
