import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { KubeFixtures } from '../helpers/kube-fixtures.js';
import { eventually, freshNamespace } from '../helpers/world.js';

describe('storageclass resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let kube: KubeFixtures;
  let url: string;

  before(async () => {
    env = await importedCluster('st-storage');
    kube = new KubeFixtures(env.cluster.kc);
    url = `${env.clusterPath}/storageclasses`;
  });
  after(() => env?.close());

  it('lists the classes of the cluster with provisioner and default flag', async () => {
    await kube.storageClass('sc-default', { 'storageclass.kubernetes.io/is-default-class': 'true' });
    await kube.storageClass('sc-plain');
    const classes = await eventually(
      async () => {
        const res = await env.api('GET', url);
        expect(res.status).to.equal(200);
        const ours = res.body.data.filter((c: { id: string }) => c.id.startsWith('sc-'));
        expect(ours.map((c: { id: string }) => c.id)).to.deep.equal(['sc-default', 'sc-plain']);
        return ours;
      },
      { within: 2000 },
    );
    expect(classes[0]).to.deep.include({ type: 'storageclass', name: 'sc-default', provisioner: 'kubernetes.io/no-provisioner', isDefault: true });
    expect(classes[1]).to.deep.include({ isDefault: false });
    // read only: self (an item answers GET from the list, issue 15) and collection, no update or remove link
    expect(Object.keys(classes[0].links).sort()).to.deep.equal(['collection', 'self']);
    expect(classes[0].links.self).to.equal(`${env.zcloud.url}${url}/sc-default`);
    const real = await kube.storage.readStorageClass({ name: 'sc-default' });
    expect(real.provisioner).to.equal('kubernetes.io/no-provisioner');

    await kube.storage.deleteStorageClass({ name: 'sc-plain' });
    await eventually(async () => expect((await env.api('GET', url)).body.data.map((c: { id: string }) => c.id)).to.not.include('sc-plain'), { within: 2000 });
  });

  it('lets users with a project in the cluster read classes; nothing else is a method', async () => {
    const token = await env.userWith('sc-user', [{ namespace: await freshNamespace(env.cluster.kc, 'sc') }]);
    expect((await env.api('GET', url, { token })).status).to.equal(200);
    const outsider = await env.userWith('sc-outsider', []);
    expect((await env.api('GET', url, { token: outsider })).status).to.equal(403);
    const one = await env.api('GET', `${url}/sc-default`, { token });
    expect(one.status, one.text).to.equal(200);
    expect(one.body).to.include({ id: 'sc-default', isDefault: true });
    expect((await env.api('POST', url, { body: { name: 'x' } })).status).to.equal(405);
    expect((await env.api('DELETE', `${url}/sc-default`)).status).to.equal(405);
  });
});
