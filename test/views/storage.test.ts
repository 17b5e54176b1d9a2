import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { expect } from 'chai';
import { ensureStorageClusterCache } from '../../src/storage/storagecluster-crd.js';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually } from '../helpers/world.js';
import { fieldsOf } from './fixtures.js';

const CRD = 'storageclusters.storage.zcloud.cn';
const crObject = { group: 'storage.zcloud.cn', version: 'v1', plural: 'storageclusters' };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** storagecluster CRUD over the StorageCluster custom resource zcloud installs, and the blockdevice view. */
describe('storage (storagecluster, blockdevice)', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let crds: ApiextensionsV1Api;
  let custom: CustomObjectsApi;
  let url: string;
  let workers: string[];

  const crdExists = async () => crds.readCustomResourceDefinition({ name: CRD }).then(() => true, () => false);
  const readCr = (name: string) => custom.getClusterCustomObject({ ...crObject, name }) as Promise<{ spec: unknown; status?: unknown }>;
  const blockdevices = async () => {
    const res = await env.api('GET', `${env.clusterPath}/blockdevices`);
    expect(res.status, res.text).to.equal(200);
    return res.body.data.map(fieldsOf);
  };
  const annotate = (node: string, devices: Array<{ name: string; size: string }>) =>
    core.patchNode({ name: node, body: { metadata: { annotations: { 'storage.zcloud.cn/blockdevices': JSON.stringify(devices) } } } }, mergePatch);

  before(async () => {
    env = await importedCluster('view-storage');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    crds = env.cluster.kc.makeApiClient(ApiextensionsV1Api);
    custom = env.cluster.kc.makeApiClient(CustomObjectsApi);
    url = `${env.clusterPath}/storageclusters`;
    workers = env.cluster.nodeNames.slice(1);
  });
  after(() => env?.close());

  it('lists worker block devices from the node annotation, following changes', async () => {
    expect(await blockdevices()).to.deep.equal(workers.map((n) => ({ id: n, nodeName: n, blockDevices: [] })));
    await annotate(workers[0], [{ name: '/dev/sdc', size: '50Gi' }, { name: '/dev/sdb', size: '100Gi' }]);
    await annotate(workers[1], [{ name: '/dev/vdb', size: '20Gi' }]);
    await eventually(
      async () =>
        expect(await blockdevices()).to.deep.equal([
          { id: workers[0], nodeName: workers[0], blockDevices: [{ name: '/dev/sdb', size: '100Gi', usable: true, reason: '', usedBy: '' }, { name: '/dev/sdc', size: '50Gi', usable: true, reason: '', usedBy: '' }] },
          { id: workers[1], nodeName: workers[1], blockDevices: [{ name: '/dev/vdb', size: '20Gi', usable: true, reason: '', usedBy: '' }] },
        ]),
      { within: 1000 },
    );
    expect((await env.api('GET', url)).body.data).to.deep.equal([]);
  });

  it('rejects bad input naming the field, and writes nothing (not even the CRD)', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ name: 'lvm', storagetype: 'lvm', hosts: [workers[0], 'no-such-node'] }, /^hosts\.1: no-such-node is not a node of cluster view-storage/],
      [{ name: 'lvm', hosts: [workers[0]] }, /^storagetype: is required/],
      [{ name: 'lvm', storagetype: 'nfs', hosts: [workers[0]] }, /^storagetype: /],
      [{ name: 'lvm', storagetype: 'lvm', hosts: workers[0] }, /^hosts: /],
      [{ name: 'lvm', storagetype: 'lvm', hosts: [] }, /^hosts: must name at least one node/],
      [{ name: 'lvm', storagetype: 'lvm', hosts: [workers[0], workers[0]] }, /^hosts\.1: duplicate host/],
      [{ name: 'Bad_Name', storagetype: 'lvm', hosts: [workers[0]] }, /^name: /],
    ];
    for (const [body, message] of cases) {
      const res = await env.api('POST', url, { body });
      expect(res.status, res.text).to.equal(422);
      expect(res.body.message).to.match(message);
    }
    expect(await crdExists()).to.equal(false);
  });

  it('installs the CRD on demand and caches StorageCluster lazily, without touching cluster health', async () => {
    const runtime = env.zcloud.running.services.clusters.require('view-storage');
    expect(runtime.cache.informer('storageclusters')).to.equal(undefined);
    const [informer, again] = await Promise.all([ensureStorageClusterCache(runtime), ensureStorageClusterCache(runtime)]);
    expect(informer).to.equal(again);
    expect(informer.hasSynced).to.equal(true);
    expect(informer.store.size).to.equal(0);
    const crd = await crds.readCustomResourceDefinition({ name: CRD });
    expect(crd.spec.scope).to.equal('Cluster');
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).to.equal('True');
    expect(runtime.state).to.equal('Running');
    const list = await env.api('GET', url);
    expect(list.status).to.equal(200);
    expect(list.body.data).to.deep.equal([]);
    expect(list.headers.get('x-zcloud-cache-resource-version')).to.be.a('string');
    expect(await ensureStorageClusterCache(runtime)).to.equal(informer);
  });

  it('lets a project holder read but not write, and answers 405 for an undeclared method', async () => {
    const member = await env.userWith('view-storage-member', [{ namespace: 'default' }]);
    expect((await env.api('GET', url, { token: member })).status).to.equal(200);
    expect((await env.api('GET', `${env.clusterPath}/blockdevices`, { token: member })).status).to.equal(200);
    expect((await env.api('POST', url, { token: member, body: { name: 'ceph', storagetype: 'ceph', hosts: [workers[1]] } })).status).to.equal(403);
    expect((await env.api('DELETE', `${url}/lvm`, { token: member })).status).to.equal(403);
    expect((await env.api('POST', `${url}/lvm`, { body: {} })).status).to.equal(405);
    expect((await env.api('POST', `${env.clusterPath}/blockdevices`, { body: {} })).status).to.equal(405);
  });

  describe('with StorageCluster objects', function () {
    it('creates a StorageCluster custom resource (installing its CRD), shown as waiting for an operator', async () => {
      const res = await env.api('POST', url, { body: { name: 'lvm', storagetype: 'lvm', hosts: [workers[0]] } });
      expect(res.status, res.text).to.equal(201);
      expect(fieldsOf(res.body)).to.deep.equal({
        id: 'lvm',
        name: 'lvm',
        storageType: 'lvm',
        hosts: [workers[0]],
        devices: {},
        phase: 'WaitingForOperator',
        message: '',
        size: '',
        usedSize: '',
        freeSize: '',
        nodes: [],
        pvs: [],
        config: [{ nodeName: workers[0], blockDevices: [{ name: '/dev/sdb', size: '100Gi' }, { name: '/dev/sdc', size: '50Gi' }] }],
        freeDevs: [{ nodeName: workers[1], blockDevices: [{ name: '/dev/vdb', size: '20Gi' }] }],
      });
      expect(res.body.links).to.include.keys('self', 'collection', 'update', 'remove');
      const crd = await crds.readCustomResourceDefinition({ name: CRD });
      expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).to.equal('True');
      expect((await readCr('lvm')).spec).to.deep.equal({ storageType: 'lvm', hosts: [workers[0]] });
      expect(fieldsOf((await env.api('GET', `${url}/lvm`)).body)).to.deep.equal(fieldsOf(res.body));
      expect((await env.api('GET', url)).body.data.map((s: { id: string }) => s.id)).to.deep.equal(['lvm']);
      expect((await blockdevices())[0].blockDevices.map((d: { usedBy: string }) => d.usedBy)).to.deep.equal(['lvm', 'lvm']);
    });

    it('refuses a second cluster of one storage type, a host already in use, and a taken name (409)', async () => {
      const cases = [
        { name: 'lvm2', storagetype: 'lvm', hosts: [workers[1]] },
        { name: 'ceph', storagetype: 'ceph', hosts: [workers[0]] },
        { name: 'lvm', storagetype: 'ceph', hosts: [workers[1]] },
      ];
      for (const body of cases) expect((await env.api('POST', url, { body })).status, JSON.stringify(body)).to.equal(409);
      const names = ((await custom.listClusterCustomObject(crObject)) as { items: Array<{ metadata: { name: string } }> }).items.map((i) => i.metadata.name);
      expect(names).to.deep.equal(['lvm']);
    });

    it("reports the operator's status: phase, sizes and per-node figures", async () => {
      const status = {
        phase: 'Running',
        size: '150Gi',
        usedSize: '10Gi',
        freeSize: '140Gi',
        nodes: [{ name: workers[0], size: '150Gi', usedSize: '10Gi', freeSize: '140Gi', stat: true }],
      };
      await custom.patchClusterCustomObjectStatus({ ...crObject, name: 'lvm', body: { status } }, mergePatch);
      await eventually(async () => expect(fieldsOf((await env.api('GET', `${url}/lvm`)).body)).to.deep.include(status), { within: 1000 });
    });

    it('updates the hosts (validated), keeping the status', async () => {
      const bad = await env.api('PUT', `${url}/lvm`, { body: { hosts: ['ghost'] } });
      expect(bad.status).to.equal(422);
      expect(bad.body.message).to.match(/^hosts\.0: ghost is not a node/);
      expect((await env.api('PUT', `${url}/lvm`, { body: {} })).body.message).to.equal('hosts: is required');
      expect((await env.api('PUT', `${url}/missing`, { body: { hosts: [workers[0]] } })).status).to.equal(404);
      const res = await env.api('PUT', `${url}/lvm`, { body: { hosts: workers } });
      expect(res.status, res.text).to.equal(200);
      expect(res.body).to.deep.include({ hosts: workers, phase: 'Running', freeDevs: [] });
      const cr = await readCr('lvm');
      expect(cr.spec).to.deep.equal({ storageType: 'lvm', hosts: workers });
      expect(cr.status).to.deep.include({ phase: 'Running' });
    });

    it('deletes the custom resource, freeing its devices', async () => {
      expect((await env.api('DELETE', `${url}/lvm`)).status).to.equal(204);
      expect(await readCr('lvm').then(() => 'present', () => 'gone')).to.equal('gone');
      expect((await env.api('GET', `${url}/lvm`)).status).to.equal(404);
      expect((await env.api('DELETE', `${url}/lvm`)).status).to.equal(404);
      await eventually(async () => expect((await blockdevices()).flatMap((n: { blockDevices: Array<{ usedBy: string }> }) => n.blockDevices.map((d) => d.usedBy))).to.deep.equal(['', '', '']), {
        within: 1000,
      });
    });
  });
});
