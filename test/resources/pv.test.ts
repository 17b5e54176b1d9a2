import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { KubeFixtures } from '../helpers/kube-fixtures.js';
import { eventually, freshNamespace } from '../helpers/world.js';

describe('persistentvolume resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let kube: KubeFixtures;
  let url: string;

  before(async () => {
    env = await importedCluster('st-storage');
    kube = new KubeFixtures(env.cluster.kc);
    url = `${env.clusterPath}/persistentvolumes`;
    await kube.storageClass('pv-manual');
  });
  after(() => env?.close());

  it('reports a volume as Available without a claim, then Bound with its claimRef', async () => {
    await kube.volume('pv-one', 'pv-manual', '3Gi');
    const available = await eventually(
      async () => {
        const got = await env.api('GET', `${url}/pv-one`);
        expect(got.body.status, got.text).to.equal('Available');
        return got.body;
      },
      { within: 10_000, interval: 200 },
    );
    expect(available).to.deep.include({ id: 'pv-one', type: 'persistentvolume', name: 'pv-one', storageSize: '3Gi', storageClassName: 'pv-manual', claimRef: null });
    expect(available.links).to.include.keys('self', 'collection', 'remove');

    const ns = await freshNamespace(env.cluster.kc, 'pv');
    await kube.claim(ns, 'wants-3', 'pv-manual', '3Gi');
    const bound = await eventually(
      async () => {
        const got = await env.api('GET', `${url}/pv-one`);
        expect(got.body.status).to.equal('Bound');
        return got.body;
      },
      { within: 20_000, interval: 200 },
    );
    expect(bound.claimRef).to.deep.equal({ kind: 'PersistentVolumeClaim', name: 'wants-3', namespace: ns });
    const real = await kube.core.readPersistentVolume({ name: 'pv-one' });
    expect(real.spec?.claimRef).to.deep.include({ name: 'wants-3', namespace: ns });
    expect((await env.api('GET', url)).body.data.map((v: { id: string }) => v.id)).to.include('pv-one');
  });

  it('lets admin delete a volume', async () => {
    await kube.volume('pv-spare', 'pv-manual', '1Gi');
    await eventually(async () => expect((await env.api('GET', `${url}/pv-spare`)).status).to.equal(200), { within: 2000 });
    expect((await env.api('DELETE', `${url}/pv-spare`)).status).to.equal(204);
    await eventually(async () => expect(await kube.core.readPersistentVolume({ name: 'pv-spare' }).catch(() => 'gone')).to.equal('gone'), {
      within: 10_000,
      interval: 200,
    });
    expect((await env.api('GET', `${url}/pv-spare`)).status).to.equal(404);
    expect((await env.api('DELETE', `${url}/pv-spare`)).status).to.equal(404);
  });

  it('lets users with a project in the cluster read volumes but not delete them', async () => {
    const ns = await freshNamespace(env.cluster.kc, 'pvu');
    const token = await env.userWith('pv-user', [{ namespace: ns }]);
    expect((await env.api('GET', url, { token })).body.data.map((v: { id: string }) => v.id)).to.include('pv-one');
    expect((await env.api('GET', `${url}/pv-one`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${url}/pv-one`, { token })).status).to.equal(403);
    expect((await kube.core.readPersistentVolume({ name: 'pv-one' })).metadata?.deletionTimestamp).to.equal(undefined);
    const outsider = await env.userWith('pv-outsider', []);
    expect((await env.api('GET', url, { token: outsider })).status).to.equal(403);
  });

  it('has no create or update', async () => {
    expect((await env.api('POST', url, { body: { name: 'x' } })).status).to.equal(405);
    expect((await env.api('PUT', `${url}/pv-one`, { body: {} })).status).to.equal(405);
  });
});
