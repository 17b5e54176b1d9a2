import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';

interface PodRow {
  id: string;
  name: string;
  nodeName: string;
  state: string;
  restarts: number;
  containers: Array<{ name: string; image: string; volumes?: Array<{ type: string; mountPath: string }> }>;
  status: {
    phase: string;
    podIP: string;
    hostIP: string;
    startTime?: string;
    containerStatuses: Array<{ name: string; ready: boolean; restartCount: number; state?: { type: string } }>;
    podConditions: Array<{ type: string; status: string }>;
  };
}

describe('pod resource', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let ns: string;
  let workloads: string;

  const runningPods = (path: string, count: number) =>
    eventually(async () => {
      const res = await env.api('GET', path);
      expect(res.status, res.text).to.equal(200);
      const pods: PodRow[] = res.body.data;
      expect(pods).to.have.length(count);
      for (const pod of pods) expect(pod.state, pod.name).to.equal('Running');
      return pods;
    }, { within: 20_000 });

  before(async () => {
    env = await importedCluster('wl-pod');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    apps = env.cluster.kc.makeApiClient(AppsV1Api);
    ns = await freshNamespace(env.cluster.kc, 'pod');
    workloads = env.nsPath(ns);
    const containers = [{ name: 'web', image: 'nginx:1.19' }];
    for (const [kind, body] of [
      ['deployments', { name: 'web', replicas: 2, containers }],
      ['deployments', { name: 'other', replicas: 1, containers }],
      ['daemonsets', { name: 'agent', containers }],
      ['statefulsets', { name: 'db', replicas: 1, containers }],
    ] as const) {
      const res = await env.api('POST', `${workloads}/${kind}`, { body });
      expect(res.status, res.text).to.equal(201);
    }
  });
  after(() => env?.close());

  it('lists and gets the pods of a deployment through its ReplicaSet, as Kubernetes reports them', async () => {
    const pods = await runningPods(`${workloads}/deployments/web/pods`, 2);
    const real = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' })).items;
    expect(pods.map((p) => p.name).sort()).to.deep.equal(real.map((p) => p.metadata?.name).sort());
    const pod = pods[0];
    const truth = real.find((p) => p.metadata?.name === pod.name)!;
    expect(pod).to.deep.include({ id: truth.metadata?.name, nodeName: truth.spec?.nodeName, restarts: 0 });
    // The pod's own spec: with the service account token Kubernetes mounted.
    expect(pod.containers[0]).to.deep.include({ name: 'web', image: 'nginx:1.19' });
    expect(pod.containers[0].volumes?.[0]).to.deep.include({ type: 'secret', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' });
    expect(pod.status).to.deep.include({ phase: 'Running', podIP: truth.status?.podIP, hostIP: truth.status?.hostIP });
    expect(pod.status.startTime).to.be.a('string');
    expect(pod.status.containerStatuses[0]).to.deep.include({ name: 'web', ready: true, restartCount: 0 });
    expect(pod.status.containerStatuses[0].state?.type).to.equal('running');
    expect(pod.status.podConditions.map((c) => `${c.type}=${c.status}`)).to.include('Ready=True');

    const got = await env.api('GET', `${workloads}/deployments/web/pods/${pod.id}`);
    expect(got.status).to.equal(200);
    expect(got.body).to.deep.include({ type: 'pod', name: pod.name, state: 'Running' });
    expect(got.body.links).to.include.keys('self', 'collection', 'remove').and.not.include.keys('update');

    const others = await runningPods(`${workloads}/deployments/other/pods`, 1);
    expect((await env.api('GET', `${workloads}/deployments/web/pods/${others[0].id}`)).status).to.equal(404);
    expect((await env.api('GET', `${workloads}/deployments/absent/pods`)).status).to.equal(404);
  });

  it('lists the pods of a daemonset (one per node) and of a statefulset', async () => {
    const daemons = await runningPods(`${workloads}/daemonsets/agent/pods`, env.cluster.nodeNames.length);
    expect(new Set(daemons.map((p) => p.nodeName))).to.deep.equal(new Set(env.cluster.nodeNames));
    const members = await runningPods(`${workloads}/statefulsets/db/pods`, 1);
    expect(members[0].name).to.equal('db-0');
  });

  it('deletes a pod; its ReplicaSet replaces it', async () => {
    const [victim] = await runningPods(`${workloads}/deployments/web/pods`, 2);
    const del = await env.api('DELETE', `${workloads}/deployments/web/pods/${victim.id}`);
    expect(del.status, del.text).to.equal(204);
    await eventually(async () => {
      const names = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' })).items.map((p) => p.metadata?.name);
      expect(names).to.not.include(victim.name);
    }, { within: 20_000 });
    const after = await runningPods(`${workloads}/deployments/web/pods`, 2);
    expect(after.map((p) => p.name)).to.not.include(victim.name);
    // A pod of another workload cannot be deleted through this one.
    const [foreign] = await runningPods(`${workloads}/deployments/other/pods`, 1);
    expect((await env.api('DELETE', `${workloads}/deployments/web/pods/${foreign.id}`)).status).to.equal(404);
    expect((await apps.readNamespacedDeployment({ name: 'other', namespace: ns })).status?.replicas).to.equal(1);
  });

  it('authorizes by project: a granted namespace yes, others 403; 405 for undeclared methods', async () => {
    const token = await env.userWith('pod-user', [{ namespace: ns }]);
    const pods = await env.api('GET', `${workloads}/deployments/web/pods`, { token });
    expect(pods.status).to.equal(200);
    expect((await env.api('GET', `${workloads}/deployments/web/pods/${pods.body.data[0].id}`, { token })).status).to.equal(200);
    expect((await env.api('DELETE', `${workloads}/deployments/web/pods/${pods.body.data[0].id}`, { token })).status).to.equal(204);
    expect((await env.api('GET', `${env.nsPath('kube-system')}/deployments/coredns/pods`, { token })).status).to.equal(403);
    expect((await env.api('PUT', `${workloads}/deployments/web/pods/${pods.body.data[1].id}`, { body: {} })).status).to.equal(405);
    expect((await env.api('POST', `${workloads}/deployments/web/pods`, { body: {} })).status).to.equal(405);
  });
});
