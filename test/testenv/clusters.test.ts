import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'chai';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { clusterStatus } from '../../scripts/testenv/cluster.js';
import { eventually, freshNamespace, testCluster } from '../helpers/world.js';
import { lifecycleCluster, mainCluster, otherCluster } from './cluster-names.js';

async function configMapNames(kc: KubeConfig, namespace: string): Promise<string[]> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace });
  return list.items.map((item) => item.metadata!.name!).filter((name) => name !== 'kube-root-ca.crt');
}

/** Pids of the cluster's processes that are alive, from its pids.json and /proc. */
function alivePids(name: string): number[] {
  return clusterStatus(name)
    .components.filter((c) => c.alive)
    .map((c) => c.pid!);
}

/** Exited and reaped: this process started them, so each lingers as a zombie until Node reaps it. */
async function processesGone(pids: number[]): Promise<void> {
  await eventually(() => {
    for (const pid of pids) expect(existsSync(`/proc/${pid}`), `pid ${pid} still exists`).to.equal(false);
  }, { within: 2_000 });
}

describe('test world: clusters', function () {
  it('runs two clusters side by side, independent of each other', async function () {
    const [main, other] = await Promise.all([testCluster(mainCluster), testCluster(otherCluster, { nodes: 1 })]);
    expect(main.server).to.not.equal(other.server);
    expect(other.nodeNames).to.have.length(1);

    const namespace = await freshNamespace(main.kc);
    const body: V1ConfigMap = { metadata: { name: 'only-in-main' }, data: { a: '1' } };
    await main.kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace, body });

    expect(await configMapNames(main.kc, namespace)).to.deep.equal(['only-in-main']);
    const otherNamespaces = (await other.kc.makeApiClient(CoreV1Api).listNamespace()).items.map((ns) => ns.metadata?.name);
    expect(otherNamespaces).to.not.include(namespace);
    const otherNodes = (await other.kc.makeApiClient(CoreV1Api).listNode()).items.map((n) => n.metadata?.name);
    expect(otherNodes).to.deep.equal(other.nodeNames);
    // No later test needs it: free its memory and CPU for the suites that follow.
    await other.destroy();
  });

  it('writes an admin kubeconfig with embedded credentials for https://127.0.0.1', async function () {
    const cluster = await testCluster(mainCluster);
    expect(cluster.kubeconfig).to.equal(readFileSync(cluster.kubeconfigPath, 'utf8'));
    expect(cluster.server).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    const user = cluster.kc.getCurrentUser();
    expect(user?.certData).to.be.a('string');
    expect(user?.keyData).to.be.a('string');
    expect(cluster.kc.getCurrentCluster()?.caData).to.be.a('string');
    // Admin is system:masters: RBAC allows it everything, cluster-scoped writes included.
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const name = `probe-${Date.now()}`;
    await core.createNamespace({ body: { metadata: { name } } });
    await core.deleteNamespace({ name });
  });

  describe('lifecycle', function () {
    // Each test restarts a cluster at least once (~5-10 s each, several times that on a busy machine).
    this.timeout(180_000);

    it('keeps objects across down and up, on the same port', async function () {
      const cluster = await testCluster(lifecycleCluster, { nodes: 2 });
      const namespace = await freshNamespace(cluster.kc);
      await cluster.kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace, body: { metadata: { name: 'kept' } } });
      const before = alivePids(lifecycleCluster);
      expect(before).to.have.length(5);

      await cluster.stop();
      expect(alivePids(lifecycleCluster)).to.deep.equal([]);
      await processesGone(before);

      await cluster.start();
      expect(alivePids(lifecycleCluster)).to.have.length(5);
      // The kubeconfig handed out before the restart still works: same port, same CA.
      expect(await configMapNames(cluster.kc, namespace)).to.deep.equal(['kept']);
    });

    it('keeps nodes Ready and pods running through an apiserver restart', async function () {
      const cluster = await testCluster(lifecycleCluster, { nodes: 2 });
      const core = cluster.kc.makeApiClient(CoreV1Api);
      const namespace = await freshNamespace(cluster.kc);
      await cluster.stopComponent('kube-apiserver');
      await cluster.start();
      // Created after the restart: only a simulator that re-established its watch runs it.
      await core.createNamespacedPod({ namespace, body: { metadata: { name: 'after' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
      await eventually(async () => expect((await core.readNamespacedPod({ name: 'after', namespace })).status?.phase).to.equal('Running'), {
        within: 15_000,
      });
      const nodes = (await core.listNode()).items;
      for (const node of nodes) expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('True');
    });

    it('restarted with fewer nodes, removes the ones no longer simulated', async function () {
      const cluster = await testCluster(lifecycleCluster, { nodes: 2 });
      const core = cluster.kc.makeApiClient(CoreV1Api);
      expect((await core.listNode()).items).to.have.length(2);
      await cluster.stop();
      await cluster.start({ nodes: 1 });
      await eventually(async () => {
        const names = (await core.listNode()).items.map((node) => node.metadata?.name);
        expect(names).to.deep.equal([`${lifecycleCluster}-node-1`]);
      });
    });

    it('destroy leaves no process and no directory', async function () {
      const cluster = await testCluster(lifecycleCluster, { nodes: 2 });
      const pids = alivePids(lifecycleCluster);
      expect(pids).to.have.length(5);
      await cluster.destroy();
      expect(existsSync(cluster.dir)).to.equal(false);
      await processesGone(pids);
    });
  });
});
