import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { API } from '../helpers/zcloud.js';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { createdDespiteRefusal } from '../helpers/input.js';

const decoded = (data: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

describe('secret resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let ns: string;
  let url: string;
  // Values no other part of the run could produce, to search the audit trail and logs for.
  const firstValue = `s3cret-first-${process.pid}-${Date.now()}`;
  const secondValue = `s3cret-second-${process.pid}-${Date.now()}`;
  const rejectedValue = `s3cret-rejected-${process.pid}-${Date.now()}`;

  before(async () => {
    env = await importedCluster('net-secret');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    ns = await freshNamespace(env.cluster.kc, 'sec');
    url = `${env.nsPath(ns)}/secrets`;
  });
  after(() => env?.close());

  it('creates an Opaque Secret with base64 data in the cluster, and reads the plain text back', async () => {
    const res = await env.api('POST', url, { body: { name: 'db', data: [{ key: 'password', value: firstValue }, { key: 'user', value: 'admin' }] } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: 'db', type: 'secret', name: 'db', data: [{ key: 'password', value: firstValue }, { key: 'user', value: 'admin' }] });
    expect(res.body.links).to.include.keys('self', 'collection', 'update', 'remove');
    const real = await core.readNamespacedSecret({ name: 'db', namespace: ns });
    expect(real.type).to.equal('Opaque');
    expect(real.data?.user).to.equal(Buffer.from('admin').toString('base64'));
    expect(decoded(real.data)).to.deep.equal({ password: firstValue, user: 'admin' });
    expect((await env.api('GET', `${url}/db`)).body.data).to.deep.equal(res.body.data);
    const list = await env.api('GET', url);
    expect(list.body.data.map((s: { id: string }) => s.id)).to.deep.equal(['db']);
  });

  it('replaces the data whole on update, and a GET right after shows it', async () => {
    const res = await env.api('PUT', `${url}/db`, { body: { data: [{ key: 'token', value: secondValue }] } });
    expect(res.status, res.text).to.equal(200);
    expect(res.body.data).to.deep.equal([{ key: 'token', value: secondValue }]);
    expect(decoded((await core.readNamespacedSecret({ name: 'db', namespace: ns })).data)).to.deep.equal({ token: secondValue });
    expect((await env.api('GET', `${url}/db`)).body.data).to.deep.equal([{ key: 'token', value: secondValue }]);
    expect((await env.api('PUT', `${url}/db`, { body: { name: 'other', data: [] } })).status).to.equal(422);
    expect((await env.api('PUT', `${url}/missing`, { body: { data: [] } })).status).to.equal(404);
    const dup = await env.api('PUT', `${url}/db`, { body: { data: [{ key: 'k', value: '1' }, { key: 'k', value: '2' }] } });
    expect(dup.status).to.equal(422);
    expect(decoded((await core.readNamespacedSecret({ name: 'db', namespace: ns })).data)).to.deep.equal({ token: secondValue });
  });

  it('rejects bad input naming the field, and creates nothing', async () => {
    const dup = await env.api('POST', url, { body: { name: 'dup', data: [{ key: 'k', value: rejectedValue }, { key: 'k', value: '2' }] } });
    expect(dup.status).to.equal(422);
    expect(dup.body.message).to.match(/^data\.1: duplicate key "k"/);
    expect((await env.api('POST', url, { body: { name: 'nodata' } })).body.message).to.equal('data: is required');
    expect((await env.api('POST', url, { body: { name: 'Bad!', data: [] } })).body.message).to.match(/^name: /);
    expect((await env.api('POST', url, { body: { name: 'typed', data: [{ key: 'k', value: 5 }] } })).body.message).to.match(/^data\.0\.value: /);
    expect((await env.api('POST', url, { body: { name: 'badkey', data: [{ key: 'a/b', value: 'x' }] } })).body.message).to.match(/^data\.0\.key: /);
    const names = (await core.listNamespacedSecret({ namespace: ns })).items.map((s) => s.metadata?.name);
    expect(createdDespiteRefusal(names, ['dup', 'nodata', 'typed', 'badkey'])).to.deep.equal([]);
    expect((await env.api('POST', url, { body: { name: 'db', data: [] } })).status).to.equal(409);
  });

  it('never writes a secret value into the audit trail or the logs', async () => {
    const audit = await env.api('GET', `${API}/auditlogs`);
    expect(audit.status).to.equal(200);
    const secretEntries = audit.body.data.filter((e: { path: string }) => e.path.startsWith(url));
    expect(secretEntries.length).to.be.at.least(3);
    expect(secretEntries[0].body.data[0]).to.deep.equal({ key: 'password', value: '[redacted]' });
    for (const value of [firstValue, secondValue, rejectedValue]) {
      expect(audit.text).to.not.include(value);
      expect(env.zcloud.logs()).to.not.include(value);
    }
    expect(env.zcloud.logs()).to.include(url);
  });

  it('shows Opaque secrets changed in the cluster, hides service-account tokens, and deletes', async () => {
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'outside' }, stringData: { a: 'one' } } });
    await eventually(async () => expect((await env.api('GET', `${url}/outside`)).body.data).to.deep.equal([{ key: 'a', value: 'one' }]), { within: 2000 });
    const token = (await core.listNamespacedSecret({ namespace: ns })).items.find((s) => s.type === 'kubernetes.io/service-account-token');
    expect(token, 'the namespace has a service-account token').to.not.equal(undefined);
    const tokenName = token!.metadata!.name!;
    expect((await env.api('GET', url)).body.data.map((s: { id: string }) => s.id)).to.deep.equal(['db', 'outside']);
    expect((await env.api('GET', `${url}/${tokenName}`)).status).to.equal(404);
    expect((await env.api('DELETE', `${url}/${tokenName}`)).status).to.equal(404);
    expect((await env.api('PUT', `${url}/${tokenName}`, { body: { data: [] } })).status).to.equal(404);
    const del = await env.api('DELETE', `${url}/outside`);
    expect(del.status).to.equal(204);
    expect((await env.api('GET', `${url}/outside`)).status).to.equal(404);
    expect(await core.readNamespacedSecret({ name: 'outside', namespace: ns }).catch(() => 'gone')).to.equal('gone');
    expect(await core.readNamespacedSecret({ name: tokenName, namespace: ns }).then(() => 'kept')).to.equal('kept');
  });

  it('authorizes by project: all operations in the granted namespace, 403 elsewhere', async () => {
    const token = await env.userWith('sec-user', [{ namespace: ns }]);
    const created = await env.api('POST', url, { token, body: { name: 'mine', data: [{ key: 'k', value: 'v' }] } });
    expect(created.status, created.text).to.equal(201);
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    expect((await env.api('GET', `${url}/mine`, { token })).status).to.equal(200);
    expect((await env.api('PUT', `${url}/mine`, { token, body: { data: [{ key: 'k', value: 'w' }] } })).status).to.equal(200);
    expect(decoded((await core.readNamespacedSecret({ name: 'mine', namespace: ns })).data)).to.deep.equal({ k: 'w' });
    expect((await env.api('DELETE', `${url}/mine`, { token })).status).to.equal(204);
    const other = `${env.nsPath('kube-system')}/secrets`;
    expect((await env.api('GET', other, { token })).status).to.equal(403);
    expect((await env.api('POST', other, { token, body: { name: 'x', data: [] } })).status).to.equal(403);
    expect((await env.api('POST', `${url}/db`, { token, body: {} })).status).to.equal(405);
  });
});
