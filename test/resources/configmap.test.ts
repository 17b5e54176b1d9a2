import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { createdDespiteRefusal } from '../helpers/input.js';

describe('configmap resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let ns: string;
  let url: string;

  before(async () => {
    env = await importedCluster('res-configmap');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    ns = await freshNamespace(env.cluster.kc, 'cm');
    url = `${env.nsPath(ns)}/configmaps`;
  });
  after(() => env?.close());

  it('creates a ConfigMap in the cluster and reads it back', async () => {
    const res = await env.api('POST', url, { body: { name: 'app', configs: [{ name: 'app.conf', data: 'port=80' }, { name: 'extra', data: 'x' }] } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: 'app', type: 'configmap', name: 'app', configs: [{ name: 'app.conf', data: 'port=80' }, { name: 'extra', data: 'x' }] });
    expect(res.body.links).to.include.keys('self', 'collection', 'update', 'remove');
    const real = await core.readNamespacedConfigMap({ name: 'app', namespace: ns });
    expect(real.data).to.deep.equal({ 'app.conf': 'port=80', extra: 'x' });
    const got = await env.api('GET', `${url}/app`);
    expect(got.body.configs).to.deep.equal(res.body.configs);
    const list = await env.api('GET', url);
    expect(list.body.data.map((c: { id: string }) => c.id)).to.include('app');
  });

  it('replaces the configs whole on update, and a GET right after shows it', async () => {
    const res = await env.api('PUT', `${url}/app`, { body: { configs: [{ name: 'only', data: 'y' }] } });
    expect(res.status, res.text).to.equal(200);
    expect(res.body.configs).to.deep.equal([{ name: 'only', data: 'y' }]);
    expect((await core.readNamespacedConfigMap({ name: 'app', namespace: ns })).data).to.deep.equal({ only: 'y' });
    expect((await env.api('GET', `${url}/app`)).body.configs).to.deep.equal([{ name: 'only', data: 'y' }]);
    const rename = await env.api('PUT', `${url}/app`, { body: { name: 'other', configs: [] } });
    expect(rename.status).to.equal(422);
    expect((await env.api('PUT', `${url}/missing`, { body: { configs: [] } })).status).to.equal(404);
  });

  it('rejects bad input naming the field, and creates nothing', async () => {
    const dup = await env.api('POST', url, { body: { name: 'dup', configs: [{ name: 'k', data: '1' }, { name: 'k', data: '2' }] } });
    expect(dup.status).to.equal(422);
    expect(dup.body.message).to.match(/^configs\.1: duplicate config name "k"/);
    const missing = await env.api('POST', url, { body: { name: 'nocfg' } });
    expect(missing.body.message).to.equal('configs: is required');
    const badName = await env.api('POST', url, { body: { name: 'Bad!', configs: [] } });
    expect(badName.body.message).to.match(/^name: /);
    const badType = await env.api('POST', url, { body: { name: 'typed', configs: [{ name: 'k', data: 5 }] } });
    expect(badType.body.message).to.match(/^configs\.0\.data: /);
    const names = (await core.listNamespacedConfigMap({ namespace: ns })).items.map((c) => c.metadata?.name);
    expect(createdDespiteRefusal(names, ['dup', 'nocfg', 'typed'])).to.deep.equal([]);
    expect((await env.api('POST', url, { body: { name: 'app', configs: [] } })).status).to.equal(409);
  });

  it('shows changes made in the cluster, and deletes', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'outside' }, data: { a: '1' } } });
    await eventually(async () => expect((await env.api('GET', `${url}/outside`)).body.configs).to.deep.equal([{ name: 'a', data: '1' }]), { within: 2000 });
    const del = await env.api('DELETE', `${url}/outside`);
    expect(del.status).to.equal(204);
    expect((await env.api('GET', `${url}/outside`)).status).to.equal(404);
    expect(await core.readNamespacedConfigMap({ name: 'outside', namespace: ns }).catch(() => 'gone')).to.equal('gone');
  });

  it('authorizes by project: granted namespace yes, others 403; an absent granted namespace lists empty', async () => {
    const token = await env.userWith('cm-user', [{ namespace: ns }, { namespace: 'not-created-yet' }]);
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    expect((await env.api('POST', url, { token, body: { name: 'mine', configs: [] } })).status).to.equal(201);
    expect((await env.api('GET', `${env.nsPath('kube-system')}/configmaps`, { token })).status).to.equal(403);
    const empty = await env.api('GET', `${env.nsPath('not-created-yet')}/configmaps`, { token });
    expect(empty.status).to.equal(200);
    expect(empty.body.data).to.deep.equal([]);
    expect((await env.api('POST', `${url}/mine`, { token, body: {} })).status).to.equal(405);
  });
});
