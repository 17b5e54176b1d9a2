import { AppsV1Api, CoreV1Api, KubernetesObjectApi, type V1Pod } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';

interface ApiNode {
  id: string;
  status: string;
  roles: string[];
  cpuUsed: number;
  memoryUsed: number;
  podUsed: number;
  [field: string]: unknown;
}

const container = { name: 'app', image: 'nginx' };

describe('node resource', function () {
  this.timeout(180_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let url: string;

  const getNode = async (name: string, token?: string): Promise<ApiNode> => {
    const res = await env.api('GET', `${url}/${name}`, token ? { token } : {});
    expect(res.status, res.text).to.equal(200);
    return res.body;
  };
  /** Pods on `node` that count as using it, in every namespace, as the apiserver has them. */
  const podsOn = async (node: string): Promise<V1Pod[]> =>
    (await core.listPodForAllNamespaces()).items.filter(
      (p) => p.spec?.nodeName === node && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
    );

  before(async () => {
    env = await importedCluster('st-node');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    apps = env.cluster.kc.makeApiClient(AppsV1Api);
    url = `${env.clusterPath}/nodes`;
  });
  after(() => env?.close());

  it('lists the nodes with address, roles, status, runtime, OS, labels and capacity', async () => {
    const res = await env.api('GET', url);
    expect(res.status).to.equal(200);
    const nodes: ApiNode[] = res.body.data;
    expect(nodes.map((n) => n.id)).to.deep.equal(env.cluster.nodeNames);
    const [master, worker] = nodes;
    expect(master.roles).to.deep.equal(['controlplane', 'etcd']);
    expect(worker).to.deep.include({
      type: 'node',
      name: env.cluster.nodeNames[1],
      status: 'Ready',
      roles: ['worker'],
      address: '10.250.0.11',
      dockerVersion: 'containerd://1.6.20',
      operatingSystem: 'linux',
      operatingSystemImage: 'Debian GNU/Linux 12 (bookworm)',
      cpu: 3900,
      memory: 7680 * 2 ** 20,
      pod: 110,
    });
    expect(worker.labels).to.include({ 'kubernetes.io/hostname': env.cluster.nodeNames[1], 'node-role.kubernetes.io/worker': 'true' });
    expect(worker.annotations).to.include({ 'testenv.zcloud.cn/simulated': 'true' });
    expect(Object.keys(worker.links as object).sort()).to.deep.equal(['collection', 'self']);
    const real = await core.readNode({ name: env.cluster.nodeNames[1] });
    expect(real.status?.nodeInfo?.containerRuntimeVersion).to.equal(worker.dockerVersion);
    expect((await env.api('GET', `${url}/no-such-node`)).status).to.equal(404);
  });

  it('counts the requests of pods on a node, consistently with the cluster figures', async () => {
    const ns = await freshNamespace(env.cluster.kc, 'cap');
    const target = env.cluster.nodeNames[2];
    const before = await getNode(target);
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'heavy' },
        spec: { nodeSelector: { 'kubernetes.io/hostname': target }, containers: [{ ...container, resources: { requests: { cpu: '750m', memory: '256Mi' } } }] },
      },
    });
    const after = await eventually(
      async () => {
        const node = await getNode(target);
        expect(node.podUsed).to.equal(before.podUsed + 1);
        return node;
      },
      { within: 10_000, interval: 200 },
    );
    expect(after.cpuUsed - before.cpuUsed).to.equal(750);
    expect(after.memoryUsed - before.memoryUsed).to.equal(256 * 2 ** 20);
    expect(after.cpuUsedRatio).to.equal(((after.cpuUsed as number) / 3900).toFixed(2));
    const workers = ((await env.api('GET', url)).body.data as ApiNode[]).filter((n) => n.roles.includes('worker'));
    const cluster = (await env.api('GET', env.clusterPath)).body;
    expect(workers.reduce((sum, n) => sum + n.cpuUsed, 0)).to.equal(cluster.cpuUsed);
    expect(workers.reduce((sum, n) => sum + n.podUsed, 0)).to.equal(cluster.podUsed);
    await core.deleteNamespace({ name: ns });
  });

  it('cordons and uncordons a node', async () => {
    const target = env.cluster.nodeNames[1];
    const cordoned = await env.api('POST', `${url}/${target}?action=cordon`);
    expect(cordoned.status, cordoned.text).to.equal(200);
    expect(cordoned.body).to.deep.include({ id: target, status: 'Cordoned' });
    expect((await core.readNode({ name: target })).spec?.unschedulable).to.equal(true);
    expect((await getNode(target)).status).to.equal('Cordoned');

    const uncordoned = await env.api('POST', `${url}/${target}?action=uncordon`);
    expect(uncordoned.status).to.equal(200);
    expect(uncordoned.body.status).to.equal('Ready');
    expect((await core.readNode({ name: target })).spec?.unschedulable).to.equal(undefined);
    expect((await getNode(target)).status).to.equal('Ready');
    expect((await env.api('POST', `${url}/no-such-node?action=cordon`)).status).to.equal(404);
  });

  it('drains a node: evicts workload pods (recreated elsewhere), skips DaemonSet pods, reports refusals', async () => {
    const ns = await freshNamespace(env.cluster.kc, 'drain');
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: { metadata: { name: 'web' }, spec: { replicas: 4, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [container] } } } },
    });
    await apps.createNamespacedDaemonSet({
      namespace: ns,
      body: { metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [container] } } } },
    });
    /** The namespace's live pods, once `count` of them run. */
    const running = async (count: number): Promise<V1Pod[]> => {
      const pods = (await core.listNamespacedPod({ namespace: ns })).items.filter((p) => !p.metadata?.deletionTimestamp);
      expect(pods.filter((p) => p.status?.phase === 'Running')).to.have.length(count);
      return pods;
    };
    const agents = env.cluster.nodeNames.length;
    const pods = await eventually(() => running(4 + agents), { within: 20_000, interval: 200 });
    // The node carrying most web pods; a budget-protected pod is pinned there too.
    const webPods = pods.filter((p) => p.metadata?.labels?.app === 'web');
    const perNode = new Map<string, number>();
    for (const p of webPods) perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
    const target = [...perNode.entries()].sort((a, b) => b[1] - a[1])[0][0];
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'guarded', labels: { app: 'guarded' } }, spec: { nodeSelector: { 'kubernetes.io/hostname': target }, containers: [container] } },
    });
    await KubernetesObjectApi.makeApiClient(env.cluster.kc).create({
      apiVersion: 'policy/v1beta1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'guarded', namespace: ns },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } },
    } as never);
    await eventually(async () => expect((await core.readNamespacedPod({ name: 'guarded', namespace: ns })).status?.phase).to.equal('Running'), { within: 10_000 });
    await eventually(async () => expect((await getNode(target)).podUsed).to.equal((await podsOn(target)).length), { within: 5000 });

    const webOnTarget = webPods.filter((p) => p.spec?.nodeName === target).map((p) => p.metadata!.name!);
    const agentOnTarget = pods.find((p) => p.metadata?.labels?.app === 'agent' && p.spec?.nodeName === target)!.metadata!.name!;
    const res = await env.api('POST', `${url}/${target}?action=drain`);
    expect(res.status, res.text).to.equal(200);
    const results = new Map<string, string>(res.body.pods.filter((p: { namespace: string }) => p.namespace === ns).map((p: { name: string; result: string }) => [p.name, p.result]));
    for (const name of webOnTarget) expect(results.get(name), name).to.equal('evicted');
    expect(results.get(agentOnTarget)).to.equal('skipped (daemonset)');
    expect(results.get('guarded')).to.match(/^failed: .*disruption budget/);
    expect(results.size).to.equal(webOnTarget.length + 2);

    expect((await core.readNode({ name: target })).spec?.unschedulable).to.equal(true);
    expect((await getNode(target)).status).to.equal('Cordoned');
    // The real controllers replace the evicted pods, and the scheduler keeps them off the cordoned node.
    await eventually(
      async () => {
        const now = await running(4 + agents + 1);
        const web = now.filter((p) => p.metadata?.labels?.app === 'web');
        expect(web).to.have.length(4);
        expect(web.filter((p) => webOnTarget.includes(p.metadata!.name!))).to.deep.equal([]);
        expect(web.filter((p) => p.spec?.nodeName === target)).to.deep.equal([]);
      },
      { within: 30_000, interval: 200 },
    );
    await eventually(async () => {
      const left = (await podsOn(target)).filter((p) => p.metadata?.namespace === ns).map((p) => p.metadata!.name);
      expect(left.sort()).to.deep.equal([agentOnTarget, 'guarded'].sort());
    });
    await eventually(async () => expect((await getNode(target)).podUsed).to.equal((await podsOn(target)).length), { within: 5000 });

    expect((await env.api('POST', `${url}/${target}?action=uncordon`)).status).to.equal(200);
    await core.deleteNamespace({ name: ns });
  });

  it('lets users with a project in the cluster look, not touch', async () => {
    const token = await env.userWith('node-user', [{ namespace: await freshNamespace(env.cluster.kc, 'nu') }]);
    const target = env.cluster.nodeNames[2];
    expect((await env.api('GET', url, { token })).body.data).to.have.length(env.cluster.nodeNames.length);
    expect((await getNode(target, token)).status).to.equal('Ready');
    for (const action of ['cordon', 'uncordon', 'drain']) {
      expect((await env.api('POST', `${url}/${target}?action=${action}`, { token })).status, action).to.equal(403);
    }
    expect((await core.readNode({ name: target })).spec?.unschedulable).to.equal(undefined);
    const outsider = await env.userWith('node-outsider', []);
    expect((await env.api('GET', url, { token: outsider })).status).to.equal(403);
  });

  it('serves only GET and its actions', async () => {
    const target = env.cluster.nodeNames[2];
    const put = await env.api('PUT', `${url}/${target}`, { body: {} });
    expect(put.status).to.equal(405);
    expect(put.headers.get('allow')).to.equal('GET, POST');
    expect((await env.api('DELETE', `${url}/${target}`)).status).to.equal(405);
    expect((await env.api('POST', url, { body: { name: 'n' } })).status).to.equal(405);
    expect((await env.api('POST', `${url}/${target}?action=reboot`)).status).to.equal(404);
  });
});
