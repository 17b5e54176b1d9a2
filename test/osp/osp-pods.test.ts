import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace, type TestCluster } from '../helpers/world.js';
import { API, sha1, type TestZcloud } from '../helpers/zcloud.js';

const NAME = 'osp-pods';

describe('OSP API: pods from the cluster caches', function () {
  this.timeout(180_000);
  let env: ImportedCluster;
  let cluster: TestCluster;
  let zcloud: TestZcloud;
  let admin: string;
  let namespace: string;
  let other: string;

  const osp = (path: string, token = admin) => zcloud.request('GET', `/osp/api${path}`, { token });

  before(async () => {
    env = await importedCluster(NAME);
    ({ cluster, zcloud } = env);
    namespace = await freshNamespace(cluster.kc, 'web');
    other = await freshNamespace(cluster.kc, 'other');
    admin = (await zcloud.request('POST', '/osp/api/login', { body: { name: 'admin', password: 'zcloud' } })).body.data.token;
    const zadmin = env.admin;
    await zcloud.request('POST', `${API}/users`, {
      token: zadmin,
      body: { name: 'webdev', password: sha1('webdev-pw'), projects: [{ cluster: NAME, namespace: other }] },
    });
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    const deployment = (ns: string, name: string, replicas: number) => ({
      metadata: { name, namespace: ns },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            initContainers: [{ name: 'init', image: 'busybox' }],
            containers: [{ name: 'main', image: 'nginx', resources: { requests: { cpu: '100m' } } }],
          },
        },
      },
    });
    await apps.createNamespacedDeployment({ namespace, body: deployment(namespace, 'web', 2) });
    await apps.createNamespacedDeployment({ namespace: other, body: deployment(other, 'side', 1) });
    await eventually(
      async () => {
        const res = await osp(`/pods/${NAME}`);
        expect(res.status).to.equal(200);
        const running = res.body.data.filter((p: { status: string; namespace: string }) => p.status === 'Running' && [namespace, other].includes(p.namespace));
        expect(running).to.have.length(3);
      },
      { within: 60_000, interval: 250 },
    );
  });
  after(() => env?.close());

  it("lists a Deployment's pods with kubectl-style status, owner, containers and node", async () => {
    const res = await osp(`/pods/${NAME}?namespace=${namespace}`);
    expect(res.body).to.include({ code: 'Success', msg: 'Success' });
    expect(res.body.data).to.have.length(2);
    const live = await cluster.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace });
    for (const pod of res.body.data) {
      const real = live.items.find((p) => p.metadata?.name === pod.name)!;
      expect(pod).to.include({
        namespace,
        controlled: 'ReplicaSet',
        status: 'Running',
        qos: 'Burstable',
        node_name: real.spec!.nodeName,
        restarts: 0,
      });
      expect(pod.created).to.equal(real.metadata!.creationTimestamp!.toISOString().replace('.000Z', 'Z'));
      expect(pod.containers).to.deep.equal([{ name: 'main', status: 'running', restarts: 0 }]);
      expect(pod.init_containers.map((c: { name: string }) => c.name)).to.deep.equal(['init']);
    }
  });

  it('filters by namespace and name', async () => {
    const all = await osp(`/pods/${NAME}`);
    const one = all.body.data.find((p: { namespace: string }) => p.namespace === namespace);
    const byName = await osp(`/pods/${NAME}?name=${one.name}`);
    expect(byName.body.data.map((p: { name: string }) => p.name)).to.deep.equal([one.name]);
    const both = await osp(`/pods/${NAME}?namespace=${other}&name=${one.name}`);
    expect(both.body.data).to.deep.equal([]);
  });

  it('returns the full Pod from the cache as JSON, or as YAML that parses back to the same Pod', async () => {
    const list = await osp(`/pods/${NAME}?namespace=${namespace}`);
    const name = list.body.data[0].name;
    const json = await osp(`/pods/${NAME}/${namespace}/${name}`);
    expect(json.body.code).to.equal('Success');
    expect(json.body.data).to.include({ apiVersion: 'v1', kind: 'Pod' });
    expect(json.body.data.metadata.name).to.equal(name);
    expect(json.body.data.metadata).to.not.have.property('managedFields');
    expect(json.body.data.status.phase).to.equal('Running');
    const asYaml = await osp(`/pods/${NAME}/${namespace}/${name}?output=yaml`);
    expect(asYaml.body.data).to.be.a('string');
    expect(yaml.load(asYaml.body.data)).to.deep.equal(json.body.data);
    const bad = await osp(`/pods/${NAME}/${namespace}/${name}?output=xml`);
    expect(bad.status).to.equal(422);
    expect(bad.body.code).to.equal('InvalidParameter');
    const missing = await osp(`/pods/${NAME}/${namespace}/no-such-pod`);
    expect(missing.status).to.equal(404);
    expect(missing.body.code).to.equal('NotFound');
  });

  it('shows a user only pods of granted namespaces', async () => {
    const token = (await zcloud.request('POST', '/osp/api/login', { body: { name: 'webdev', password: 'webdev-pw' } })).body.data.token;
    const all = await osp(`/pods/${NAME}`, token);
    expect(all.status).to.equal(200);
    expect(new Set(all.body.data.map((p: { namespace: string }) => p.namespace))).to.deep.equal(new Set([other]));
    const denied = await osp(`/pods/${NAME}?namespace=${namespace}`, token);
    expect(denied.status).to.equal(403);
    expect(denied.body.code).to.equal('Forbidden');
    const pod = (await osp(`/pods/${NAME}?namespace=${namespace}`)).body.data[0].name;
    expect((await osp(`/pods/${NAME}/${namespace}/${pod}`, token)).status).to.equal(403);
  });

  it('tells a user without a project in a cluster only 403, whether the cluster exists or not (as zcloud.cn does)', async () => {
    await zcloud.request('POST', `${API}/users`, {
      token: await zcloud.adminToken(),
      body: { name: 'nobody', password: sha1('nobody-pw'), projects: [] },
    });
    const token = (await zcloud.request('POST', '/osp/api/login', { body: { name: 'nobody', password: 'nobody-pw' } })).body.data.token;
    const zcloudToken = await zcloud.login('nobody', sha1('nobody-pw'));
    for (const clusterName of [NAME, 'no-such-cluster']) {
      const pods = await osp(`/pods/${clusterName}`, token);
      expect(pods.status, clusterName).to.equal(403);
      expect(pods.body.code, clusterName).to.equal('Forbidden');
      expect((await osp(`/pods/${clusterName}?namespace=${namespace}`, token)).status, clusterName).to.equal(403);
      expect((await osp(`/pods/${clusterName}/${namespace}/any-pod`, token)).status, clusterName).to.equal(403);
      const native = await zcloud.request('GET', `${API}/clusters/${clusterName}/nodes`, { token: zcloudToken });
      expect(native.status, clusterName).to.equal(403);
      expect((await zcloud.request('GET', `${API}/clusters/${clusterName}`, { token: zcloudToken })).status, clusterName).to.equal(403);
    }
  });

  it('answers 404 for an unknown cluster and 503 for an unreachable one', async () => {
    const unknown = await osp('/pods/no-such-cluster');
    expect(unknown.status).to.equal(404);
    expect(unknown.body.code).to.equal('NotFound');
    await cluster.stopComponent('kube-apiserver');
    try {
      await eventually(
        async () => {
          const res = await osp(`/pods/${NAME}`);
          expect(res.status).to.equal(503);
          expect(res.body.code).to.equal('ClusterUnavailable');
        },
        { within: 30_000, interval: 250 },
      );
    } finally {
      await cluster.start();
    }
  });
});
