import type { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { KubeFixtures } from '../helpers/kube-fixtures.js';
import { eventually, freshNamespace } from '../helpers/world.js';

describe('resourcequota resource', function () {
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
    ns = await freshNamespace(env.cluster.kc, 'rq');
    url = `${env.nsPath(ns)}/resourcequotas`;
  });
  after(() => env?.close());

  it('creates a ResourceQuota and reports what it allows and what is used', async () => {
    const res = await env.api('POST', url, { body: { name: 'team', limits: { 'requests.cpu': '1', 'requests.storage': '10Gi' } } });
    expect(res.status, res.text).to.equal(201);
    expect(res.body).to.deep.include({ id: 'team', type: 'resourcequota', name: 'team', limits: { 'requests.cpu': '1', 'requests.storage': '10Gi' } });
    expect(res.body.links).to.include.keys('self', 'collection', 'remove');
    const real = await core.readNamespacedResourceQuota({ name: 'team', namespace: ns });
    expect(real.spec?.hard).to.deep.equal({ 'requests.cpu': '1', 'requests.storage': '10Gi' });

    // The quota controller fills in status first (counting from its own, possibly older, view);
    // from then on quota admission counts every admitted pod.
    await eventually(
      async () => expect((await env.api('GET', `${url}/team`)).body.status.used).to.deep.equal({ 'requests.cpu': '0', 'requests.storage': '0' }),
      { within: 10_000, interval: 200 },
    );
    expect(await kube.podAdmission(ns, 'half', { requests: { cpu: '500m' } })).to.equal('created');
    await eventually(
      async () => {
        const got = await env.api('GET', `${url}/team`);
        expect(got.body.status).to.deep.equal({ limits: { 'requests.cpu': '1', 'requests.storage': '10Gi' }, used: { 'requests.cpu': '500m', 'requests.storage': '0' } });
      },
      { within: 10_000, interval: 200 },
    );
    // The quota holds: the next 600m would exceed 1 cpu.
    expect(await kube.podAdmission(ns, 'too-much', { requests: { cpu: '600m' } })).to.equal(403);
    const list = await env.api('GET', url);
    expect(list.body.data.map((q: { id: string }) => q.id)).to.deep.equal(['team']);
  });

  it('rejects bad input naming the field, and creates nothing', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ limits: { 'requests.cpu': '1' } }, /^name: is required$/],
      [{ name: 'pods', limits: { pods: '10' } }, /^limits\.pods: must be one of requests\.cpu, requests\.memory, limits\.cpu, limits\.memory, requests\.storage$/],
      [{ name: 'qty', limits: { 'limits.memory': '4 GB' } }, /^limits\.limits\.memory: must be a Kubernetes quantity/],
      [{ name: 'neg', limits: { 'requests.memory': '-1Gi' } }, /^limits\.requests\.memory: must not be negative$/],
      [{ name: 'typed', limits: ['requests.cpu'] }, /^limits: /],
      [{ name: 'UPPER' }, /^name: /],
    ];
    for (const [body, message] of cases) {
      const res = await env.api('POST', url, { body });
      expect(res.status, JSON.stringify(body)).to.equal(422);
      expect(res.body.message).to.match(message);
    }
    const names = (await core.listNamespacedResourceQuota({ namespace: ns })).items.map((q) => q.metadata?.name);
    expect(names).to.deep.equal(['team']);
    expect((await env.api('POST', url, { body: { name: 'team' } })).status).to.equal(409);
  });

  it('shows quotas made in the cluster, and deletes', async () => {
    await core.createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name: 'outside' }, spec: { hard: { 'limits.memory': '1Gi' } } } });
    await eventually(async () => expect((await env.api('GET', `${url}/outside`)).body.limits).to.deep.equal({ 'limits.memory': '1Gi' }), { within: 2000 });
    expect((await env.api('DELETE', `${url}/outside`)).status).to.equal(204);
    expect((await env.api('GET', `${url}/outside`)).status).to.equal(404);
    expect(await core.readNamespacedResourceQuota({ name: 'outside', namespace: ns }).catch(() => 'gone')).to.equal('gone');
  });

  it('lets a user work in its granted namespace only; PUT is not a method here', async () => {
    const token = await env.userWith('rq-user', [{ namespace: ns }]);
    expect((await env.api('POST', url, { token, body: { name: 'mine', limits: { 'limits.cpu': '4' } } })).status).to.equal(201);
    expect((await env.api('GET', `${url}/mine`, { token })).body.limits).to.deep.equal({ 'limits.cpu': '4' });
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${url}/mine`, { token })).status).to.equal(204);
    expect(await core.readNamespacedResourceQuota({ name: 'mine', namespace: ns }).catch(() => 'gone')).to.equal('gone');
    expect((await env.api('GET', `${env.nsPath('default')}/resourcequotas`, { token })).status).to.equal(403);
    expect((await env.api('DELETE', `${env.nsPath('default')}/resourcequotas/x`, { token })).status).to.equal(403);
    expect((await env.api('PUT', `${url}/team`, { body: { name: 'team' } })).status).to.equal(405);
  });
});
