import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { expect } from 'chai';
import { Helm } from '../../src/apps/helm.js';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually } from '../helpers/world.js';
import { API } from '../helpers/zcloud.js';

const helm = new Helm({ cacheDir: path.join(os.homedir(), '.cache', 'zcloud'), timeoutMs: 60_000 });
const SYSTEM = 'zcloud-system';
const MONITOR_PASSWORD = 'monitor-Secret-4711';
const REGISTRY_PASSWORD = 'registry-Secret-0815';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe('monitor and registry (system charts)', function () {
  this.timeout(240_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  const releaseNames = async () => (await helm.list(SYSTEM, { kubeconfig: env.cluster.kubeconfig })).map((r) => `${r.name}:${r.status}`).sort();
  const adminPasswordIn = async (secret: string) => {
    const s = await core.readNamespacedSecret({ name: secret, namespace: SYSTEM });
    return Buffer.from(s.data?.adminPassword ?? '', 'base64').toString('utf8');
  };

  before(async () => {
    env = await importedCluster('apps-system');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    custom = env.cluster.kc.makeApiClient(CustomObjectsApi);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(env.zcloud.logs().split('\n').filter((l) => /applic|helm|release|reconcile/i.test(l) && !/"request"/.test(l)).slice(-20).join('\n'));
  });
  after(() => env?.close());

  it('refuses bad monitor and registry input naming the field', async () => {
    const badClass = await env.api('POST', `${env.clusterPath}/monitors`, { body: { storageClass: 'nfs' } });
    expect(badClass.status).to.equal(422);
    expect(badClass.body.message).to.match(/^storageClass: /);
    const badInterval = await env.api('POST', `${env.clusterPath}/monitors`, { body: { scrapeInterval: 'often' } });
    expect(badInterval.body.message).to.match(/^scrapeInterval: /);
    const noCluster = await env.api('POST', `${API}/registries`, { body: { cluster: 'nowhere' } });
    expect(noCluster.status).to.equal(422);
    expect(noCluster.body.message).to.match(/^cluster: no cluster nowhere/);
    expect((await env.api('GET', `${env.clusterPath}/monitors`)).body.data).to.deep.equal([]);
  });

  it('installs a monitor: Grafana behind its ingress as redirectUrl, password only in the cluster Secret; a second one is 409', async () => {
    const res = await env.api('POST', `${env.clusterPath}/monitors`, {
      body: { adminPassword: MONITOR_PASSWORD, ingressDomain: 'apps.test', scrapeInterval: 15, prometheusRetention: 7 },
    });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.include({ id: 'monitor', type: 'monitor', ingressDomain: 'apps.test', scrapeInterval: 15, prometheusRetention: 7 });
    expect(res.body).to.not.have.property('adminPassword');
    const monitor = await eventually(
      async () => {
        const got = await env.api('GET', `${env.clusterPath}/monitors/monitor`);
        expect(got.body.status, got.text).to.equal('succeed');
        expect(got.body.redirectUrl).to.equal('http://grafana.apps.test/');
        return got.body;
      },
      { within: 90_000, interval: 300 },
    );
    expect(monitor).to.not.have.property('adminPassword');
    expect(await releaseNames()).to.deep.equal(['monitor:deployed']);
    expect(await adminPasswordIn('monitor-admin')).to.equal(MONITOR_PASSWORD);
    const second = await env.api('POST', `${env.clusterPath}/monitors`, { body: {} });
    expect(second.status).to.equal(409);
    const list = await env.api('GET', `${env.clusterPath}/monitors`);
    expect(list.body.data.map((m: { id: string }) => m.id)).to.deep.equal(['monitor']);
  });

  it('installs a registry of the cluster (id = cluster) with its ingress URL; a second one is 409', async () => {
    const res = await env.api('POST', `${API}/registries`, { body: { cluster: 'apps-system', adminPassword: REGISTRY_PASSWORD, ingressDomain: 'apps.test', storageSize: 20 } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.include({ id: 'apps-system', type: 'registry', cluster: 'apps-system', storageSize: 20 });
    expect(res.body).to.not.have.property('adminPassword');
    await eventually(
      async () => {
        const got = await env.api('GET', `${API}/registries/apps-system`);
        expect(got.body.status, got.text).to.equal('succeed');
        expect(got.body.redirectUrl).to.equal('http://registry.apps.test/');
      },
      { within: 90_000, interval: 300 },
    );
    expect(await releaseNames()).to.deep.equal(['monitor:deployed', 'registry:deployed']);
    expect(await adminPasswordIn('registry-admin')).to.equal(REGISTRY_PASSWORD);
    expect((await env.api('POST', `${API}/registries`, { body: { cluster: 'apps-system' } })).status).to.equal(409);
    expect((await env.api('GET', `${API}/registries`)).body.data.map((r: { id: string }) => r.id)).to.deep.equal(['apps-system']);
  });

  it('keeps the passwords out of zcloud: responses, logs, audit, data dir and the Application objects', async () => {
    const texts = [
      env.zcloud.logs(),
      JSON.stringify(await env.zcloud.running.services.audit.list()),
      ...filesUnder(env.zcloud.dataDir).map((f) => readFileSync(f, 'latin1')),
      JSON.stringify(await custom.listNamespacedCustomObject({ group: 'app.zcloud.cn', version: 'v1', namespace: SYSTEM, plural: 'applications' })),
      (await env.api('GET', `${env.clusterPath}/monitors`)).text,
      (await env.api('GET', `${API}/registries`)).text,
    ];
    for (const text of texts) {
      expect(text.includes(MONITOR_PASSWORD)).to.equal(false);
      expect(text.includes(REGISTRY_PASSWORD)).to.equal(false);
    }
  });

  it('deletes the monitor and the registry: releases, objects and their Secrets go', async () => {
    expect((await env.api('DELETE', `${env.clusterPath}/monitors/monitor`)).status).to.equal(204);
    expect((await env.api('DELETE', `${API}/registries/apps-system`)).status).to.equal(204);
    await eventually(
      async () => {
        expect((await env.api('GET', `${env.clusterPath}/monitors/monitor`)).status).to.equal(404);
        expect((await env.api('GET', `${API}/registries/apps-system`)).status).to.equal(404);
      },
      { within: 90_000, interval: 300 },
    );
    expect(await releaseNames()).to.deep.equal([]);
    const left = async () => (await core.listNamespacedSecret({ namespace: SYSTEM })).items.map((s) => s.metadata?.name).filter((n) => n?.endsWith('-admin'));
    // The admin Secrets are owned by the Applications: the garbage collector removes them.
    await eventually(async () => expect(await left()).to.deep.equal([]), { within: 30_000, interval: 300 });
    expect((await core.listNamespacedService({ namespace: SYSTEM })).items.map((s) => s.metadata?.name)).to.deep.equal([]);
    // A monitor can be installed again after the first is gone.
    const again = await env.api('POST', `${env.clusterPath}/monitors`, { body: {} });
    expect(again.status, again.text).to.equal(201);
  });
});
