import { expect } from 'chai';
import { AppsV1Api, BatchV1Api, CoreV1Api, CoordinationV1Api, type V1Pod } from '@kubernetes/client-node';
import { eventually, freshNamespace, testCluster, type TestCluster } from '../helpers/world.js';
import { mainCluster } from './cluster-names.js';


function deployment(name: string, replicas: number) {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'nginx:1.19',
              resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
            },
          ],
        },
      },
    },
  };
}

function inCidr(ip: string, cidr: string): boolean {
  // The simulator hands out /24s: compare the first three octets.
  return ip.split('.').slice(0, 3).join('.') === cidr.split('.').slice(0, 3).join('.');
}

describe('test world: workloads on simulated nodes', function () {
  let cluster: TestCluster;
  let core: CoreV1Api;

  before(async function () {
    cluster = await testCluster(mainCluster);
    core = cluster.kc.makeApiClient(CoreV1Api);
  });

  it('registers Ready nodes with roles, addresses, capacity and a renewed lease', async function () {
    const nodes = (await core.listNode()).items;
    expect(nodes.map((n) => n.metadata?.name).sort()).to.deep.equal([...cluster.nodeNames].sort());
    const [master, worker] = cluster.nodeNames.map((name) => nodes.find((n) => n.metadata?.name === name)!);
    expect(master!.metadata?.labels).to.include({ 'node-role.kubernetes.io/master': 'true', 'node-role.kubernetes.io/controlplane': 'true' });
    expect(worker!.metadata?.labels).to.include({ 'node-role.kubernetes.io/worker': 'true' });
    for (const node of nodes) {
      expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('True');
      expect(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address).to.match(/^10\./);
      expect(node.status?.capacity).to.include({ cpu: '4', pods: '110' });
      expect(node.status?.nodeInfo?.kubeletVersion).to.equal('v1.20.2');
      expect(node.spec?.podCIDR).to.match(/^10\.244\.\d+\.0\/24$/);
      expect(node.spec?.taints ?? []).to.deep.equal([]);
    }
    const leases = cluster.kc.makeApiClient(CoordinationV1Api);
    const lease = await leases.readNamespacedLease({ name: cluster.nodeNames[0]!, namespace: 'kube-node-lease' });
    expect(Date.now() - new Date(lease.spec!.renewTime!).getTime()).to.be.below(30_000);
  });

  it('runs a Deployment: real ReplicaSet, pods Running on simulated nodes with pod IPs; deleting it removes the pods', async function () {
    const namespace = await freshNamespace(cluster.kc);
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({ namespace, body: deployment('web', 3) });

    const replicaSets = await eventually(async () => {
      const list = (await apps.listNamespacedReplicaSet({ namespace })).items;
      expect(list).to.have.length(1);
      return list;
    });
    expect(replicaSets[0]!.metadata?.ownerReferences?.[0]).to.include({ kind: 'Deployment', name: 'web' });

    const pods = await eventually(
      async () => {
        const list = (await core.listNamespacedPod({ namespace })).items;
        expect(list).to.have.length(3);
        for (const pod of list) expect(pod.status?.phase, pod.metadata?.name).to.equal('Running');
        return list;
      },
      { within: 20_000 },
    );
    const nodes = (await core.listNode()).items;
    for (const pod of pods) {
      const node = nodes.find((n) => n.metadata?.name === pod.spec?.nodeName);
      expect(node, `node of ${pod.metadata?.name}`).to.exist;
      expect(inCidr(pod.status!.podIP!, node!.spec!.podCIDR!)).to.equal(true);
      expect(pod.status?.hostIP).to.equal(node!.status?.addresses?.find((a) => a.type === 'InternalIP')?.address);
      expect(pod.status?.qosClass).to.equal('Guaranteed');
      expect(pod.status?.conditions?.map((c) => `${c.type}=${c.status}`).sort()).to.deep.equal([
        'ContainersReady=True',
        'Initialized=True',
        'PodScheduled=True',
        'Ready=True',
      ]);
      const container = pod.status?.containerStatuses?.[0];
      expect(container).to.include({ name: 'web', ready: true, restartCount: 0, image: 'nginx:1.19', started: true });
      expect(container?.containerID).to.match(/^containerd:\/\/[0-9a-f]{64}$/);
      expect(container?.imageID).to.match(/^nginx@sha256:[0-9a-f]{64}$/);
      expect(container?.state?.running?.startedAt).to.be.instanceOf(Date);
    }
    expect(new Set(pods.map((p) => p.status?.podIP)).size).to.equal(3);

    await eventually(async () => {
      const status = (await apps.readNamespacedDeployment({ name: 'web', namespace })).status;
      expect(status?.readyReplicas).to.equal(3);
      expect(status?.availableReplicas).to.equal(3);
    }, { within: 10_000 });

    await apps.deleteNamespacedDeployment({ name: 'web', namespace, body: { propagationPolicy: 'Foreground' } });
    await eventually(async () => expect((await core.listNamespacedPod({ namespace })).items).to.deep.equal([]), { within: 20_000 });
  });

  it('keeps a running pod\'s status still: no rewrite unless something changes', async function () {
    const namespace = await freshNamespace(cluster.kc);
    await core.createNamespacedPod({ namespace, body: { metadata: { name: 'still' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    const running = await eventually(async () => {
      const pod = await core.readNamespacedPod({ name: 'still', namespace });
      expect(pod.status?.phase).to.equal('Running');
      return pod;
    }, { within: 10_000 });
    expect(running.status?.qosClass).to.equal('BestEffort');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const later = await core.readNamespacedPod({ name: 'still', namespace });
    expect(later.metadata?.resourceVersion).to.equal(running.metadata?.resourceVersion);
  });

  it('completes Job pods: phase Succeeded, containers terminated with exit code 0', async function () {
    const namespace = await freshNamespace(cluster.kc);
    const batch = cluster.kc.makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'once' },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'task', image: 'busybox' }] } } },
      },
    });
    const pod = await eventually(async () => {
      const [only] = (await core.listNamespacedPod({ namespace, labelSelector: 'job-name=once' })).items;
      expect(only?.status?.phase).to.equal('Succeeded');
      return only!;
    }, { within: 20_000 });
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).to.include({ exitCode: 0, reason: 'Completed' });
    await eventually(async () => {
      const job = await batch.readNamespacedJob({ name: 'once', namespace });
      expect(job.status?.succeeded).to.equal(1);
    }, { within: 10_000 });
  });

  it('crash-loops pods annotated testenv.zcloud.cn/crash', async function () {
    const namespace = await freshNamespace(cluster.kc);
    const body: V1Pod = {
      metadata: { name: 'crashy', annotations: { 'testenv.zcloud.cn/crash': 'true' } },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    };
    await core.createNamespacedPod({ namespace, body });
    await eventually(async () => {
      const pod = await core.readNamespacedPod({ name: 'crashy', namespace });
      const container = pod.status?.containerStatuses?.[0];
      expect(container?.state?.waiting?.reason).to.equal('CrashLoopBackOff');
      expect(container?.restartCount).to.be.at.least(1);
      expect(container?.ready).to.equal(false);
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('False');
    }, { within: 10_000 });
  });

  it('finishes graceful deletion of a pod (grace period 0 after deletionTimestamp)', async function () {
    const namespace = await freshNamespace(cluster.kc);
    await core.createNamespacedPod({ namespace, body: { metadata: { name: 'bye' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    await eventually(async () => expect((await core.readNamespacedPod({ name: 'bye', namespace })).status?.phase).to.equal('Running'), {
      within: 10_000,
    });
    // Default grace period is 30 s: only the simulated kubelet can make this fast.
    await core.deleteNamespacedPod({ name: 'bye', namespace });
    await eventually(async () => expect((await core.listNamespacedPod({ namespace })).items).to.deep.equal([]), { within: 5_000 });
  });
});
