import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { KubeFixtures } from '../helpers/kube-fixtures.js';
import { eventually, freshNamespace } from '../helpers/world.js';

describe('persistentvolumeclaim resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let kube: KubeFixtures;
  let ns: string;
  let url: string;

  before(async () => {
    env = await importedCluster('st-storage');
    kube = new KubeFixtures(env.cluster.kc);
    ns = await freshNamespace(env.cluster.kc, 'pvc');
    url = `${env.nsPath(ns)}/persistentvolumeclaims`;
    await kube.storageClass('pvc-manual');
    await kube.volume('pvc-vol-1', 'pvc-manual', '2Gi');
    await kube.volume('pvc-vol-2', 'pvc-manual', '1Gi');
  });
  after(() => env?.close());

  it('reports a claim the controller-manager binds: class, sizes, status, volume', async () => {
    await kube.claim(ns, 'data', 'pvc-manual', '1500Mi');
    const bound = await eventually(
      async () => {
        const got = await env.api('GET', `${url}/data`);
        expect(got.body.status, got.text).to.equal('Bound');
        return got.body;
      },
      { within: 20_000, interval: 200 },
    );
    expect(bound).to.deep.include({
      id: 'data',
      type: 'persistentvolumeclaim',
      name: 'data',
      namespace: ns,
      storageClassName: 'pvc-manual',
      requestStorageSize: '1500Mi',
      actualStorageSize: '2Gi',
      volumeName: 'pvc-vol-1',
      pods: [],
    });
    expect(bound.links).to.include.keys('self', 'collection', 'remove');
    const real = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns });
    expect(real.spec?.volumeName).to.equal('pvc-vol-1');
    expect(real.status?.phase).to.equal('Bound');
    const list = await env.api('GET', url);
    expect(list.body.data.map((c: { id: string }) => c.id)).to.deep.equal(['data']);
  });

  it('shows the pods mounting a claim with their node, and refuses to delete it while they do', async () => {
    await kube.podMounting(ns, 'user-pod', 'data');
    const pods = await eventually(
      async () => {
        const got = await env.api('GET', `${url}/data`);
        expect(got.body.pods).to.have.length(1);
        expect(got.body.pods[0].node).to.not.equal('');
        return got.body.pods as Array<{ name: string; node: string }>;
      },
      { within: 10_000, interval: 200 },
    );
    const real = await kube.core.readNamespacedPod({ name: 'user-pod', namespace: ns });
    expect(pods).to.deep.equal([{ name: 'user-pod', node: real.spec?.nodeName }]);

    const refused = await env.api('DELETE', `${url}/data`);
    expect(refused.status).to.equal(422);
    expect(refused.body.message).to.match(/mounted by pod user-pod/);
    const still = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns });
    expect(still.metadata?.deletionTimestamp).to.equal(undefined);

    await kube.core.deleteNamespacedPod({ name: 'user-pod', namespace: ns });
    await eventually(async () => expect((await env.api('DELETE', `${url}/data`)).status).to.equal(204), { within: 10_000, interval: 200 });
    await eventually(
      async () => expect(await kube.core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns }).catch(() => 'gone')).to.equal('gone'),
      { within: 10_000, interval: 200 },
    );
    expect((await env.api('GET', `${url}/data`)).status).to.equal(404);
    expect((await env.api('DELETE', `${url}/data`)).status).to.equal(404);
  });

  it('lets a user read and delete claims in its granted namespace only', async () => {
    await kube.claim(ns, 'scratch', 'pvc-manual', '1Gi');
    await eventually(async () => expect((await env.api('GET', `${url}/scratch`)).status).to.equal(200), { within: 2000 });
    const token = await env.userWith('pvc-user', [{ namespace: ns }]);
    expect((await env.api('GET', url, { token })).body.data.map((c: { id: string }) => c.id)).to.include('scratch');
    expect((await env.api('GET', `${url}/scratch`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${url}/scratch`, { token })).status).to.equal(204);
    await eventually(
      async () => expect(await kube.core.readNamespacedPersistentVolumeClaim({ name: 'scratch', namespace: ns }).catch(() => 'gone')).to.equal('gone'),
      { within: 10_000, interval: 200 },
    );
    expect((await env.api('GET', `${env.nsPath('default')}/persistentvolumeclaims`, { token })).status).to.equal(403);
  });

  it('has no create or update: claims come with workloads', async () => {
    const post = await env.api('POST', url, { body: { name: 'x' } });
    expect(post.status).to.equal(405);
    expect(post.headers.get('allow')).to.equal('GET');
    expect((await env.api('PUT', `${url}/anything`, { body: {} })).status).to.equal(405);
  });
});
