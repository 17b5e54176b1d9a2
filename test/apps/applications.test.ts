import os from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import path from 'node:path';
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { expect } from 'chai';
import { Helm } from '../../src/apps/helm.js';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

/** The helm zcloud runs, pointed at the test cluster as an operator would run it. */
const helm = new Helm({ cacheDir: path.join(os.homedir(), '.cache', 'zcloud'), timeoutMs: 60_000 });

describe('applications (real helm, real apiserver)', function () {
  this.timeout(180_000);
  let env: ImportedCluster;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let ns: string;
  let url: string;

  const releases = async (namespace: string) => helm.list(namespace, { kubeconfig: env.cluster.kubeconfig });
  const applicationCr = (namespace: string, name: string) =>
    custom.getNamespacedCustomObject({ group: 'app.zcloud.cn', version: 'v1', namespace, plural: 'applications', name }) as Promise<{
      status?: { phase?: string };
    }>;

  before(async () => {
    env = await importedCluster('apps-install');
    apps = env.cluster.kc.makeApiClient(AppsV1Api);
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    custom = env.cluster.kc.makeApiClient(CustomObjectsApi);
    ns = await freshNamespace(env.cluster.kc, 'apps');
    url = `${env.nsPath(ns)}/applications`;
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(env.zcloud.logs().split('\n').filter((l) => /applic|helm|release|reconcile|informer/i.test(l) && !/"request"/.test(l)).slice(-30).join('\n'));
  });
  let restarted: TestZcloud | undefined;
  after(async () => {
    await restarted?.close();
    await env?.close();
  });

  it('installs the Application CRD (status subresource, printer columns) when the cluster is attached', async () => {
    const crds = env.cluster.kc.makeApiClient(ApiextensionsV1Api);
    const crd = await eventually(() => crds.readCustomResourceDefinition({ name: 'applications.app.zcloud.cn' }), { within: 15_000, interval: 200 });
    const v1 = crd.spec.versions.find((v) => v.name === 'v1')!;
    expect(v1.subresources?.status).to.deep.equal({});
    expect(v1.additionalPrinterColumns?.map((c) => c.name)).to.deep.equal(['Chart', 'Version', 'Status', 'Ready', 'Workloads', 'Age']);
  });

  it('lists the catalogue under a namespace: user charts with versions and forms, no system charts; icons are served', async () => {
    const list = await env.api('GET', `${env.nsPath(ns)}/charts`);
    expect(list.status, list.text).to.equal(200);
    const names = list.body.data.map((c: { id: string }) => c.id);
    expect(names).to.include.members(['webserver', 'redis', 'static-site']);
    expect(names.filter((n: string) => n === 'monitor' || n === 'registry')).to.deep.equal([]);
    const web = await env.api('GET', `${env.nsPath(ns)}/charts/webserver`);
    expect(web.body).to.include({ id: 'webserver', name: 'webserver', type: 'chart' });
    expect(web.body.versions[0].version).to.equal('1.0.0');
    expect(web.body.versions[0].config.map((f: { jsonKey: string }) => f.jsonKey)).to.include('replicas');
    const icon = await env.zcloud.request('GET', web.body.icon);
    expect(icon.status).to.equal(200);
    expect(icon.headers.get('content-type')).to.match(/svg/);
    expect((await env.api('GET', `${env.nsPath(ns)}/charts/monitor`)).status).to.equal(404);
  });

  it('refuses configs that do not fit the chart form with 422 naming the field, and installs nothing', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ name: 'bad1', chartName: 'webserver', chartVersion: '1.0.0', configs: { replicas: 'two' } }, /^configs\.replicas: must be an integer/],
      [{ name: 'bad2', chartName: 'webserver', chartVersion: '1.0.0', configs: { replicas: 99 } }, /^configs\.replicas: must be at most 20/],
      [{ name: 'bad3', chartName: 'webserver', chartVersion: '1.0.0', configs: { nosuch: 1 } }, /^configs\.nosuch: is not a setting/],
      [{ name: 'bad4', chartName: 'nochart', chartVersion: '1.0.0', configs: {} }, /^chartName: no chart nochart/],
      [{ name: 'bad5', chartName: 'webserver', chartVersion: '9.9.9', configs: {} }, /^chartVersion: chart webserver has no version 9\.9\.9/],
      [{ name: 'bad6', chartName: 'monitor', chartVersion: '1.0.0', configs: {} }, /^chartName: /],
    ];
    for (const [body, message] of cases) {
      const res = await env.api('POST', url, { body });
      expect(res.status, res.text).to.equal(422);
      expect(res.body.message).to.match(message);
    }
    expect(await releases(ns)).to.deep.equal([]);
    expect((await env.api('GET', url)).body.data).to.deep.equal([]);
  });

  it('installs a chart: answers create at once, then the release is deployed, the CR succeeds and appResources list the real objects', async () => {
    const res = await env.api('POST', url, { body: { name: 'web', chartName: 'webserver', chartVersion: '1.0.0', configs: { replicas: 2, ingressHost: 'web.example.test' } } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.include({ id: 'web', name: 'web', chartName: 'webserver', chartVersion: '1.0.0', status: 'create' });
    expect(res.body.chartIcon).to.match(/\/webserver$/);
    const app = await eventually(
      async () => {
        const got = await env.api('GET', `${url}/web`);
        expect(got.body.status, got.text).to.equal('succeed');
        return got.body;
      },
      { within: 60_000, interval: 250 },
    );
    expect(app.appResources.map((r: { type: string; name: string }) => `${r.type}/${r.name}`).sort()).to.deep.equal(['deployment/web', 'ingress/web', 'service/web']);
    const link = app.appResources.find((r: { type: string }) => r.type === 'deployment').link;
    expect(link).to.equal(`${env.nsPath(ns)}/deployments/web`);
    expect((await env.api('GET', link)).status).to.equal(200);
    const deployment = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
    expect(deployment.spec?.replicas).to.equal(2);
    const listed = await releases(ns);
    expect(listed.map((r) => [r.name, r.status, r.chart])).to.deep.equal([['web', 'deployed', 'webserver-1.0.0']]);
    expect((await applicationCr(ns, 'web')).status?.phase).to.equal('succeed');
    // The simulated kubelets run the pods: the ready count follows.
    await eventually(async () => expect((await env.api('GET', `${url}/web`)).body.readyWorkloadCount).to.equal(1), { within: 30_000, interval: 250 });
    const audit = (await env.zcloud.running.services.audit.list()).filter((e) => e.user === 'zcloud:application-controller');
    expect(audit.map((e) => [e.verb, e.path])).to.deep.include(['install', `/clusters/apps-install/namespaces/${ns}/applications/web`]);
  });

  it('puts back a Deployment of the release deleted outside zcloud', async () => {
    const before = (await apps.readNamespacedDeployment({ name: 'web', namespace: ns })).metadata?.uid;
    await apps.deleteNamespacedDeployment({ name: 'web', namespace: ns });
    const restored = await eventually(
      async () => {
        const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
        expect(d.metadata?.uid).to.not.equal(before);
        expect(d.metadata?.deletionTimestamp).to.equal(undefined);
        return d;
      },
      { within: 60_000, interval: 250 },
    );
    expect(restored.spec?.replicas).to.equal(2);
    const listed = await releases(ns);
    expect(listed.map((r) => [r.name, r.status])).to.deep.equal([['web', 'deployed']]);
  });

  it('only lets a user act in namespaces its projects grant', async () => {
    const token = await env.userWith('apps-user', [{ namespace: ns }]);
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    expect((await env.api('GET', `${env.nsPath('kube-system')}/applications`, { token })).status).to.equal(403);
    const other = await env.api('POST', `${env.nsPath('default')}/applications`, { token, body: { name: 'x', chartName: 'webserver', chartVersion: '1.0.0', configs: {} } });
    expect(other.status).to.equal(403);
  });

  it('deletes: status delete, then the release, its objects and the CR are gone', async () => {
    const del = await env.api('DELETE', `${url}/web`);
    expect(del.status, del.text).to.equal(204);
    await eventually(async () => expect((await env.api('GET', `${url}/web`)).status).to.equal(404), { within: 60_000, interval: 250 });
    expect(await releases(ns)).to.deep.equal([]);
    expect(await apps.readNamespacedDeployment({ name: 'web', namespace: ns }).then(() => 'present', () => 'gone')).to.equal('gone');
    expect(await core.readNamespacedService({ name: 'web', namespace: ns }).then(() => 'present', () => 'gone')).to.equal('gone');
    expect(await applicationCr(ns, 'web').then(() => 'present', () => 'gone')).to.equal('gone');
  });

  it('keeps password fields out of the Application: they live in a Secret it owns, reach the release, and go with it', async () => {
    const password = 'app-secret-9f3e';
    const res = await env.api('POST', url, { body: { name: 'cache', chartName: 'redis', chartVersion: '7.4.0', configs: { password, maxMemoryMb: 64 } } });
    expect(res.status, res.text).to.equal(201);
    expect(res.text).not.to.include(password);
    await eventually(async () => expect((await env.api('GET', `${url}/cache`)).body.status).to.equal('succeed'), { within: 60_000, interval: 250 });
    const cr = (await applicationCr(ns, 'cache')) as { spec: Record<string, unknown>; metadata: { uid: string } };
    expect(JSON.stringify(cr)).not.to.include(password);
    expect(cr.spec).to.deep.include({ configs: { maxMemoryMb: 64 }, secretConfigs: 'cache-configs' });
    const held = await core.readNamespacedSecret({ name: 'cache-configs', namespace: ns });
    expect(Buffer.from(held.data!.password!, 'base64').toString()).to.equal(password);
    expect(held.metadata?.ownerReferences?.map((o) => [o.kind, o.uid])).to.deep.equal([['Application', cr.metadata.uid]]);
    // The chart received it: redis is configured with it.
    const rendered = await core.readNamespacedSecret({ name: 'cache-auth', namespace: ns });
    expect(Buffer.from(rendered.data!['redis.conf']!, 'base64').toString()).to.include(`requirepass ${password}`);
    // A second create of the name is refused before it can replace the first one's password.
    const again = await env.api('POST', url, { body: { name: 'cache', chartName: 'redis', chartVersion: '7.4.0', configs: { password: 'other' } } });
    expect(again.status, again.text).to.equal(409);
    const still = await core.readNamespacedSecret({ name: 'cache-configs', namespace: ns });
    expect(Buffer.from(still.data!.password!, 'base64').toString()).to.equal(password);
    expect((await env.api('DELETE', `${url}/cache`)).status).to.equal(204);
    await eventually(
      async () => expect(await core.readNamespacedSecret({ name: 'cache-configs', namespace: ns }).then(() => 'present', () => 'gone')).to.equal('gone'),
      { within: 60_000, interval: 500 },
    );
  });

  it('recovers a release left pending-install by a helm call that died, without a second release', async () => {
    const chartDir = env.zcloud.running.services.catalog.version('static-site', '1.0.0')!.dir;
    await helm.upgradeInstall('pending', ns, chartDir, { kubeconfig: env.cluster.kubeconfig, values: { title: 't', body: 'b', replicas: 1 } });
    // What a helm killed with SIGKILL mid-install leaves: its release record still pending-install.
    const [secret] = (await core.listNamespacedSecret({ namespace: ns, labelSelector: 'owner=helm,name=pending' })).items;
    const release = JSON.parse(gunzipSync(Buffer.from(Buffer.from(secret!.data!.release!, 'base64').toString('utf8'), 'base64')).toString('utf8'));
    release.info.status = 'pending-install';
    const encoded = Buffer.from(gzipSync(Buffer.from(JSON.stringify(release))).toString('base64')).toString('base64');
    await core.replaceNamespacedSecret({
      name: secret!.metadata!.name!,
      namespace: ns,
      body: { ...secret, metadata: { ...secret!.metadata, labels: { ...secret!.metadata!.labels, status: 'pending-install' } }, data: { release: encoded } },
    });
    expect((await releases(ns)).find((r) => r.name === 'pending')?.status).to.equal('pending-install');
    const res = await env.api('POST', url, { body: { name: 'pending', chartName: 'static-site', chartVersion: '1.0.0', configs: {} } });
    expect(res.status, res.text).to.equal(201);
    await eventually(async () => expect((await env.api('GET', `${url}/pending`)).body.status).to.equal('succeed'), { within: 60_000, interval: 250 });
    expect((await releases(ns)).filter((r) => r.name === 'pending').map((r) => r.status)).to.deep.equal(['deployed']);
    expect((await env.api('DELETE', `${url}/pending`)).status).to.equal(204);
    await eventually(async () => expect((await env.api('GET', `${url}/pending`)).status).to.equal(404), { within: 60_000, interval: 250 });
  });

  it('keeps an application whose uninstall fails, says why, and finishes once helm can uninstall', async () => {
    const res = await env.api('POST', url, { body: { name: 'stuck', chartName: 'static-site', chartVersion: '1.0.0', configs: {} } });
    expect(res.status, res.text).to.equal(201);
    await eventually(async () => expect((await env.api('GET', `${url}/stuck`)).body.status).to.equal('succeed'), { within: 60_000, interval: 250 });
    // A release record helm cannot read: every uninstall fails until it is gone.
    const [record] = (await core.listNamespacedSecret({ namespace: ns, labelSelector: 'owner=helm,name=stuck' })).items;
    await core.replaceNamespacedSecret({ name: record!.metadata!.name!, namespace: ns, body: { ...record, data: { release: Buffer.from('not a release').toString('base64') } } });
    expect((await env.api('DELETE', `${url}/stuck`)).status).to.equal(204);
    const stuck = await eventually(
      async () => {
        const got = await env.api('GET', `${url}/stuck`);
        expect(got.body.status, got.text).to.equal('delete');
        expect(got.body.message).to.match(/^helm uninstall failed: /);
        return got.body;
      },
      { within: 30_000, interval: 250 },
    );
    expect(stuck.message.length).to.be.greaterThan('helm uninstall failed: '.length);
    expect(await applicationCr(ns, 'stuck').then(() => 'present', () => 'gone')).to.equal('present');
    await core.deleteNamespacedSecret({ name: record!.metadata!.name!, namespace: ns });
    // The next retry (every 30 s) finds no release and lets the Application go.
    await eventually(async () => expect((await env.api('GET', `${url}/stuck`)).status).to.equal(404), { within: 60_000, interval: 500 });
  });

  // Last: it replaces the suite's zcloud with a new one on the same data dir.
  it('converges without a duplicate release when zcloud stops mid-install and starts again', async () => {
    const res = await env.api('POST', url, { body: { name: 'site', chartName: 'static-site', chartVersion: '1.0.0', configs: { title: 'Restart' } } });
    expect(res.status, res.text).to.equal(201);
    // Stop zcloud as soon as helm has begun to record the release (its first release Secret).
    await eventually(
      async () => {
        const secrets = await core.listNamespacedSecret({ namespace: ns, labelSelector: 'owner=helm,name=site' });
        expect(secrets.items.length).to.be.greaterThan(0);
      },
      { within: 30_000, interval: 10 },
    );
    await env.zcloud.close();
    restarted = await startTestZcloud({ dataDir: env.zcloud.dataDir, env: { ZCLOUD_HEALTH_INTERVAL: '1s' } });
    const token = await restarted.adminToken();
    await eventually(
      async () => {
        const got = await restarted!.request('GET', `${url}/site`, { token });
        expect(got.body.status, got.text).to.equal('succeed');
      },
      { within: 60_000, interval: 250 },
    );
    const listed = await releases(ns);
    expect(listed.map((r) => [r.name, r.status])).to.deep.equal([['site', 'deployed']]);
    const deployments = await apps.listNamespacedDeployment({ namespace: ns, labelSelector: 'app.kubernetes.io/instance=site' });
    expect(deployments.items.map((d) => d.metadata?.name)).to.deep.equal(['site']);
  });
});
