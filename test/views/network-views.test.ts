import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { pluralize } from '../../api/framework/plural.js';
import { allResources } from '../../api/resources/index.js';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { deployment, fieldsOf, runningPods, scale, service } from './fixtures.js';

/** nodenetwork/podnetwork/servicenetwork, each compared whole with what the apiserver reports. */
describe('network views (nodenetwork, podnetwork, servicenetwork)', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let ns: string;

  const listOf = async (collection: string) => {
    const res = await env.api('GET', `${env.clusterPath}/${collection}`);
    expect(res.status, res.text).to.equal(200);
    expect(res.body.resourceType).to.equal(collection.replace(/s$/, ''));
    return res.body.data.map(fieldsOf);
  };

  /** The pod networks as `kubectl get nodes,pods -A -o wide` shows them. */
  const podNetworksFromApiserver = async () => {
    const nodes = (await core.listNode()).items;
    const pods = (await core.listPodForAllNamespaces()).items.filter(
      (p) => p.status?.phase === 'Running' && !p.spec?.hostNetwork && p.status.podIP && p.spec?.nodeName,
    );
    return nodes
      .map((node) => node.metadata!.name!)
      .sort()
      .map((nodeName) => ({
        id: nodeName,
        nodeName,
        podCIDR: nodes.find((n) => n.metadata!.name === nodeName)!.spec!.podCIDR,
        podIPs: pods
          .filter((p) => p.spec!.nodeName === nodeName)
          .map((p) => ({ name: `${p.metadata!.namespace}/${p.metadata!.name}`, ip: p.status!.podIP! }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      }));
  };

  const serviceNetworksFromApiserver = async () =>
    (await core.listServiceForAllNamespaces()).items
      .filter((s) => s.spec?.clusterIP && s.spec.clusterIP !== 'None')
      .map((s) => ({ id: `${s.metadata!.namespace}.${s.metadata!.name}`, name: `${s.metadata!.namespace}/${s.metadata!.name}`, ip: s.spec!.clusterIP! }))
      .sort((a, b) => a.name.localeCompare(b.name));

  before(async () => {
    env = await importedCluster('view-networks');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    apps = env.cluster.kc.makeApiClient(AppsV1Api);
    ns = await freshNamespace(env.cluster.kc, 'netview');
  });
  after(() => env?.close());

  it('lists every node with its first InternalIP', async () => {
    const nodes = (await core.listNode()).items;
    const expected = nodes
      .map((n) => ({ id: n.metadata!.name!, name: n.metadata!.name!, ip: n.status!.addresses!.find((a) => a.type === 'InternalIP')!.address }))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(expected.map((n) => n.name)).to.have.members(env.cluster.nodeNames);
    expect(await listOf('nodenetworks')).to.deep.equal(expected);
  });

  it('lists running pods by node with their IPs, leaving out host-network pods, and follows scaling', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 3) });
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'hostnet', labels: { app: 'hostnet' } }, spec: { hostNetwork: true, containers: [{ name: 'main', image: 'agent:1' }] } },
    });
    const pods = await runningPods(core, ns, 'web', 3);
    await runningPods(core, ns, 'hostnet', 1);
    const expected = await podNetworksFromApiserver();
    const listed = expected.flatMap((n) => n.podIPs.map((p) => p.name));
    expect(listed).to.include.members(pods.map((p) => `${ns}/${p}`));
    expect(listed).to.not.include(`${ns}/hostnet`);
    await eventually(async () => expect(await listOf('podnetworks')).to.deep.equal(expected), { within: 1000 });

    await scale(apps, ns, 'web', 1);
    await runningPods(core, ns, 'web', 1);
    const scaledDown = await podNetworksFromApiserver();
    await eventually(async () => expect(await listOf('podnetworks')).to.deep.equal(scaledDown), { within: 1000 });
  });

  it('lists service cluster IPs without headless services, and follows deletes', async () => {
    await core.createNamespacedService({ namespace: ns, body: service('web') });
    await core.createNamespacedService({ namespace: ns, body: service('db', { headless: true }) });
    const expected = await serviceNetworksFromApiserver();
    expect(expected.map((s) => s.name)).to.include(`${ns}/web`).and.not.include(`${ns}/db`);
    await eventually(async () => expect(await listOf('servicenetworks')).to.deep.equal(expected), { within: 1000 });
    await core.deleteNamespacedService({ name: 'web', namespace: ns });
    const remaining = await serviceNetworksFromApiserver();
    await eventually(async () => expect(await listOf('servicenetworks')).to.deep.equal(remaining), { within: 1000 });
  });

  it('shows cluster views to users holding a project in the cluster only, and serves list only', async () => {
    const member = await env.userWith('view-net-member', [{ namespace: ns }]);
    const outsider = await env.userWith('view-net-outsider', []);
    for (const collection of ['nodenetworks', 'podnetworks', 'servicenetworks']) {
      const url = `${env.clusterPath}/${collection}`;
      expect((await env.api('GET', url, { token: member })).status, collection).to.equal(200);
      expect((await env.api('GET', url, { token: outsider })).status, collection).to.equal(403);
      expect((await env.api('POST', url, { body: {} })).status, collection).to.equal(405);
    }
  });

  it("never shows a user granted some namespaces another namespace's objects in any cluster-level view", async () => {
    // Every collection directly under a cluster, from the registry: a view added later is swept too.
    const clusterViews = allResources.filter((r) => r.parents?.includes('cluster') && r.list).map((r) => pluralize(r.kind));
    expect(clusterViews).to.include.members(['podnetworks', 'servicenetworks', 'nodes', 'nodenetworks']);
    const hidden = await freshNamespace(env.cluster.kc, 'hiddenns');
    await apps.createNamespacedDeployment({ namespace: hidden, body: deployment('secretapp', 2) });
    await core.createNamespacedService({ namespace: hidden, body: service('secretapp') });
    await runningPods(core, hidden, 'secretapp', 2);
    await core.createNamespacedService({ namespace: ns, body: service('mine') });
    const member = await env.userWith('view-scope-member', [{ namespace: ns }]);
    const mentionsHidden = (text: string): boolean => text.includes(hidden);

    // The admin sees the hidden namespace in the pod and service networks: the check below can fail.
    await eventually(async () => {
      for (const collection of ['podnetworks', 'servicenetworks']) {
        expect(mentionsHidden((await env.api('GET', `${env.clusterPath}/${collection}`)).text), collection).to.equal(true);
      }
    }, { within: 2000 });
    for (const collection of clusterViews) {
      const res = await env.api('GET', `${env.clusterPath}/${collection}`, { token: member });
      expect(res.status, `${collection}: ${res.text}`).to.equal(200);
      expect(mentionsHidden(res.text), `${collection} shows ${hidden}: ${res.text}`).to.equal(false);
    }
    const services = await env.api('GET', `${env.clusterPath}/servicenetworks`, { token: member });
    expect(services.body.data.map((s: { name: string }) => s.name)).to.include(`${ns}/mine`);
    // Nodes stay visible with their cluster-wide figures: usage is a total, not namespace data.
    const asAdmin = (await env.api('GET', `${env.clusterPath}/nodes`)).body.data.map(fieldsOf);
    const asMember = (await env.api('GET', `${env.clusterPath}/nodes`, { token: member })).body.data.map(fieldsOf);
    expect(asMember).to.deep.equal(asAdmin);
  });
});
