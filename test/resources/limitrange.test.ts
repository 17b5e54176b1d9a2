import type { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { KubeFixtures } from '../helpers/kube-fixtures.js';
import { eventually, freshNamespace } from '../helpers/world.js';

describe('limitrange resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let kube: KubeFixtures;
  let ns: string;
  let url: string;

  before(async () => {
    env = await importedCluster('st-quota');
    kube = new KubeFixtures(env.cluster.kc);
    core = kube.core;
    ns = await freshNamespace(env.cluster.kc, 'lr');
    url = `${env.nsPath(ns)}/limitranges`;
  });
  after(() => env?.close());

  it('creates a container LimitRange the apiserver enforces, and reads it back', async () => {
    const res = await env.api('POST', url, { body: { name: 'bounds', max: { cpu: '2', memory: '1Gi' }, min: { cpu: '100m', memory: '16Mi' } } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: 'bounds', type: 'limitrange', name: 'bounds', max: { cpu: '2', memory: '1Gi' }, min: { cpu: '100m', memory: '16Mi' } });
    expect(res.body.links).to.include.keys('self', 'collection', 'remove');
    expect(res.body.links).to.not.have.key('update');
    const real = await core.readNamespacedLimitRange({ name: 'bounds', namespace: ns });
    expect(real.spec?.limits).to.have.length(1);
    expect(real.spec?.limits[0]).to.deep.include({ type: 'Container', max: { cpu: '2', memory: '1Gi' }, min: { cpu: '100m', memory: '16Mi' } });
    expect((await env.api('GET', `${url}/bounds`)).body).to.deep.include({ max: res.body.max, min: res.body.min });
    expect((await env.api('GET', url)).body.data.map((l: { id: string }) => l.id)).to.deep.equal(['bounds']);
    // The point of a limit range: Kubernetes refuses a container above max.
    expect(await kube.podAdmission(ns, 'too-big', { limits: { cpu: '3' } })).to.equal(403);
    expect(await kube.podAdmission(ns, 'fits', { limits: { cpu: '1' } })).to.equal('created');
  });

  it('rejects bad input naming the field, and creates nothing', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ name: 'nomax', min: { cpu: '1' } }, /^max: is required$/],
      [{ name: 'badqty', max: { cpu: 'two' }, min: {} }, /^max\.cpu: must be a Kubernetes quantity/],
      [{ name: 'badkey', max: { storage: '1Gi' }, min: {} }, /^max\.storage: must be one of cpu, memory$/],
      [{ name: 'badtype', max: { cpu: 2 }, min: {} }, /^max\.cpu: /],
      [{ name: 'inverted', max: { cpu: '1' }, min: { cpu: '2' } }, /^min\.cpu: must not exceed max\.cpu/],
      [{ name: 'Bad_Name', max: {}, min: {} }, /^name: /],
    ];
    for (const [body, message] of cases) {
      const res = await env.api('POST', url, { body });
      expect(res.status, JSON.stringify(body)).to.equal(422);
      expect(res.body.message).to.match(message);
    }
    const names = (await core.listNamespacedLimitRange({ namespace: ns })).items.map((l) => l.metadata?.name);
    expect(names).to.deep.equal(['bounds']);
    expect((await env.api('POST', url, { body: { name: 'bounds', max: {}, min: {} } })).status).to.equal(409);
  });

  it('shows limit ranges made in the cluster, and deletes', async () => {
    await core.createNamespacedLimitRange({ namespace: ns, body: { metadata: { name: 'outside' }, spec: { limits: [{ type: 'Container', max: { memory: '2Gi' } }] } } });
    await eventually(async () => expect((await env.api('GET', `${url}/outside`)).body.max).to.deep.equal({ memory: '2Gi' }), { within: 2000 });
    expect((await env.api('DELETE', `${url}/outside`)).status).to.equal(204);
    expect((await env.api('GET', `${url}/outside`)).status).to.equal(404);
    expect(await core.readNamespacedLimitRange({ name: 'outside', namespace: ns }).catch(() => 'gone')).to.equal('gone');
    expect((await env.api('DELETE', `${url}/outside`)).status).to.equal(404);
  });

  it('lets a user work in its granted namespace only; PUT is not a method here', async () => {
    const token = await env.userWith('lr-user', [{ namespace: ns }]);
    expect((await env.api('POST', url, { token, body: { name: 'mine', max: { cpu: '1' }, min: {} } })).status).to.equal(201);
    expect((await env.api('GET', url, { token })).body.data.map((l: { id: string }) => l.id)).to.include('mine');
    expect((await env.api('GET', `${url}/mine`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${url}/mine`, { token })).status).to.equal(204);
    expect(await core.readNamespacedLimitRange({ name: 'mine', namespace: ns }).catch(() => 'gone')).to.equal('gone');
    const elsewhere = `${env.nsPath('default')}/limitranges`;
    expect((await env.api('GET', elsewhere, { token })).status).to.equal(403);
    expect((await env.api('POST', elsewhere, { token, body: { name: 'x', max: {}, min: {} } })).status).to.equal(403);
    const put = await env.api('PUT', `${url}/bounds`, { body: { name: 'bounds', max: {}, min: {} } });
    expect(put.status).to.equal(405);
    expect(put.headers.get('allow')).to.equal('GET, DELETE');
  });
});
