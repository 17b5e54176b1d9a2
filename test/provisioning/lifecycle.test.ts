import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { expect } from 'chai';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ProvisionedNode } from '../../src/clusters/provisioning-spec.js';
import { CLUSTER_LABEL, execIn } from '../../src/provisioning/containers.js';
import { connectHost, type HostConnection } from '../../src/provisioning/host-connection.js';
import { imageReference } from '../../src/provisioning/images.js';
import { etcdctlCommand } from '../../src/provisioning/node-plan.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { hostSetLayout, readHostPids } from '../../scripts/testenv/hosts/layout.js';
import { eventually } from '../helpers/world.js';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

const setName = 'lc-life';
signalHostSetOnExit(setName);

type Host = HostSetInfo['hosts']['nodes'][number];

/**
 * The life of a provisioned cluster after create, through the API on three real hosts: a PUT
 * adds a worker (Updating, then Running, the node Ready) and removes it again (its containers,
 * pods' containers and files gone from its host, its Node object deleted); a cancelled update
 * ends Running; an apiserver stopped by hand makes the cluster Unreachable until it is started;
 * DELETE (Deleting, then gone) leaves no zcloud or pod container on any host but a foreign one.
 */
describe('clusters: the lifecycle of a provisioned cluster (real hosts)', function () {
  this.timeout(900_000);
  let set: HostSetInfo;
  let zcloud: TestZcloud;
  let admin: string;
  let first: Host, second: Host, third: Host;
  let core: CoreV1Api;
  // Probes every second: an apiserver stopped by hand shows within seconds.
  const zcloudEnv = { ZCLOUD_HEALTH_INTERVAL: '1s' };

  const roles = { first: ['controlplane', 'etcd', 'worker'], second: ['etcd', 'worker'], worker: ['worker'] };
  const node = (host: Host, nodeRoles: string[]) => ({ name: host.name, address: host.address, roles: nodeRoles });
  const body = (nodes: ReturnType<typeof node>[]) => ({ name: 'lc', nodes, sshUser: set.hosts.sshUser, sshKey: set.hosts.sshKey });
  const twoNodes = () => [node(first, roles.first), node(second, roles.second)];
  const threeNodes = () => [...twoNodes(), node(third, roles.worker)];
  const get = async (name = 'lc') => zcloud.request('GET', `${API}/clusters/${name}`, { token: admin });
  const waitForStatus = (status: string, within: number, name = 'lc') =>
    eventually(async () => {
      const got = await get(name);
      expect(got.body?.status, JSON.stringify(got.body)).to.equal(status);
    }, { within, interval: 500 });

  async function onHost<T>(host: Host, work: (connection: HostConnection) => Promise<T>): Promise<T> {
    const connection = await connectHost({ name: host.name, address: host.address, port: host.sshPort, user: set.hosts.sshUser, privateKey: set.hosts.sshKey }, { dockerSocket: '/var/run/docker.sock', timeoutMs: 10_000 });
    try {
      return await work(connection);
    } finally {
      await connection.close();
    }
  }
  const containers = (host: Host, label: string) =>
    onHost(host, async (c) => (await c.docker.listContainers({ all: true, filters: { label: [label] } })).map((i) => i.Names[0]!.replace(/^\//, '')).sort());
  /** A host's directory as seen from this machine (a bind mount inside the host). */
  const hostDir = (host: Host, dir: string) => join(hostSetLayout(setName).host(host.name).dir, 'fs', dir.slice(1).replaceAll('/', '-'));

  /** A pod on `host` whose containers the kubelet makes through dockershim. */
  async function runPodOn(host: Host, name: string): Promise<void> {
    const pod: V1Pod = {
      metadata: { name, namespace: 'default' },
      spec: {
        nodeName: host.name,
        hostNetwork: true,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'sleep', image: imageReference('base'), imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
      },
    };
    await core.createNamespacedPod({ namespace: 'default', body: pod });
    await eventually(async () => {
      const got = await core.readNamespacedPod({ namespace: 'default', name });
      expect(got.status?.phase).to.equal('Running');
    }, { within: 120_000, interval: 1_000 });
    expect(await containers(host, `io.kubernetes.pod.name=${name}`)).to.have.length.greaterThan(0);
  }

  before(async function () {
    this.timeout(600_000);
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 3 });
    [first, second, third] = set.hosts.nodes as [Host, Host, Host];
    zcloud = await startTestZcloud({ env: zcloudEnv });
    admin = await zcloud.adminToken();
    const created = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: body(twoNodes()) });
    expect(created.status, created.text).to.equal(201);
    await waitForStatus('Running', 300_000);
    const kubeconfig = await zcloud.request('POST', `${API}/clusters/lc?action=getkubeconfig`, { token: admin });
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig.body.config);
    core = kc.makeApiClient(CoreV1Api);
  });

  after(async function () {
    this.timeout(120_000);
    try {
      await zcloud?.close();
    } finally {
      await destroyHosts(setName);
    }
  });

  it('refuses (422, naming the field) node changes a running cluster cannot take, touching nothing', async () => {
    const refusals: [ReturnType<typeof node>[], string][] = [
      [[node(third, roles.first), node(second, roles.second)], `nodes: controlplane node ${first.name} cannot be removed`],
      [[node(first, roles.first), node(second, ['worker', 'edge'])], 'nodes.1.roles: node'],
      [[node(first, roles.first), { ...node(second, roles.second), address: third.address }], 'nodes.1.address: node'],
      [[node(first, roles.first), { ...node(second, roles.second), name: 'renamed' }], 'nodes.1.name: '],
    ];
    for (const [nodes, message] of refusals) {
      const put = await zcloud.request('PUT', `${API}/clusters/lc`, { token: admin, body: body(nodes) });
      expect(put.status, put.text).to.equal(422);
      expect(put.body.message).to.satisfy((m: string) => m.startsWith(message), put.body.message);
    }
    const sameNodes = await zcloud.request('PUT', `${API}/clusters/lc`, { token: admin, body: body(twoNodes()) });
    expect(sameNodes.status).to.equal(422);
    expect(sameNodes.body.message).to.match(/^status: only a CreateFailed cluster can be re-run, or a Running one's node list changed; lc is Running/);
    expect((await get()).body.status).to.equal('Running');
    expect(await containers(third, CLUSTER_LABEL)).to.deep.equal([]);
  });

  it('PUT adds a third host as worker: Updating, then Running, and the node Ready', async () => {
    const put = await zcloud.request('PUT', `${API}/clusters/lc`, { token: admin, body: body(threeNodes()) });
    expect(put.status, put.text).to.equal(200);
    expect(put.body.status).to.equal('Updating');
    expect((await zcloud.request('GET', `${API}/clusters`, { token: admin })).body.data.map((c: { status: string }) => c.status)).to.deep.equal(['Updating']);
    await waitForStatus('Running', 240_000);
    expect((await get()).body.nodes.map((n: { name: string }) => n.name)).to.deep.equal(threeNodes().map((n) => n.name));
    await eventually(async () => {
      const nodes = await zcloud.request('GET', `${API}/clusters/lc/nodes`, { token: admin });
      const added = nodes.body.data.find((n: { name: string }) => n.name === third.name);
      expect(added?.status, nodes.text).to.equal('Ready');
    }, { within: 120_000, interval: 1_000 });
    expect(await containers(third, `${CLUSTER_LABEL}=lc`)).to.deep.equal(['apiserver-proxy', 'kube-proxy', 'kubelet']);
  });

  it('PUT removes it: its pod evicted, zcloud and pod containers and files gone from its host, its Node object deleted', async () => {
    await runPodOn(third, 'on-third');
    const put = await zcloud.request('PUT', `${API}/clusters/lc`, { token: admin, body: body(twoNodes()) });
    expect(put.status, put.text).to.equal(200);
    expect(put.body.status).to.equal('Updating');
    await waitForStatus('Running', 240_000);
    expect((await get()).body.message).to.equal('');
    expect(await containers(third, CLUSTER_LABEL)).to.deep.equal([]);
    expect(await containers(third, 'io.kubernetes.pod.namespace')).to.deep.equal([]);
    expect(existsSync(join(hostDir(third, '/etc/kubernetes'), 'ssl'))).to.equal(false);
    expect(readdirSync(hostDir(third, '/var/lib/kubelet'))).to.deep.equal([]);
    const nodes = await core.listNode();
    expect(nodes.items.map((n) => n.metadata?.name).sort()).to.deep.equal([first.name, second.name].sort());
    await eventually(async () => {
      const served = await zcloud.request('GET', `${API}/clusters/lc/nodes`, { token: admin });
      expect(served.body.data.map((n: { name: string }) => n.name).sort()).to.deep.equal([first.name, second.name].sort());
    }, { within: 30_000, interval: 500 });
    // The evicted pod is gone (a bare pod: nothing recreates it).
    await eventually(async () => expect((await core.listNamespacedPod({ namespace: 'default' })).items.map((p) => p.metadata?.name)).not.to.include('on-third'), { within: 30_000, interval: 1_000 });
  });

  it('cancel during Updating ends Running within 30 s; a second PUT of the same nodes finishes the update', async () => {
    const put = await zcloud.request('PUT', `${API}/clusters/lc`, { token: admin, body: body(threeNodes()) });
    expect(put.status, put.text).to.equal(200);
    const cancelledAt = Date.now();
    const cancel = await zcloud.request('POST', `${API}/clusters/lc?action=cancel`, { token: admin });
    expect(cancel.status, cancel.text).to.equal(200);
    await waitForStatus('Running', 30_000);
    expect(Date.now() - cancelledAt).to.be.lessThan(30_000);
    expect((await get()).body.message).to.match(/^update cancelled/);
    const again = await zcloud.request('POST', `${API}/clusters/lc?action=cancel`, { token: admin });
    expect(again.status).to.equal(422);
    expect(again.body.message).to.match(/^status: only a Creating or Updating cluster can be cancelled; lc is Running/);

    const finish = await zcloud.request('PUT', `${API}/clusters/lc`, { token: admin, body: body(threeNodes()) });
    expect(finish.status, finish.text).to.equal(200);
    expect(finish.body.status).to.equal('Updating');
    await waitForStatus('Running', 240_000);
    expect((await get()).body.message).to.equal('');
    expect(await containers(third, `${CLUSTER_LABEL}=lc`)).to.deep.equal(['apiserver-proxy', 'kube-proxy', 'kubelet']);
  });

  it('a refresh (what the certificate check asks for after renewing) takes an Updating run over the same nodes, changing no container', async () => {
    const ids = async () => Promise.all([first, second, third].map((h) => onHost(h, async (c) => (await c.docker.listContainers({ all: true, filters: { label: [`${CLUSTER_LABEL}=lc`] } })).map((i) => i.Id).sort())));
    const before = await ids();
    expect(await zcloud.running.services.clusters.refreshProvisioned('lc')).to.equal(true);
    expect((await get()).body.status).to.equal('Updating');
    await waitForStatus('Running', 240_000);
    expect((await get()).body.message).to.equal('');
    // Nothing changed in the PKI or the spec: every container stays (a renewed certificate would recreate its readers).
    expect(await ids()).to.deep.equal(before);
    // Only a Running cluster is refreshed.
    expect(await zcloud.running.services.clusters.refreshProvisioned('no-such-cluster')).to.equal(false);
  });

  it('turns Unreachable when its apiserver container is stopped by hand, and Running when it is started', async () => {
    await onHost(first, (c) => c.docker.getContainer('kube-apiserver').stop({ t: 1 }));
    try {
      await waitForStatus('Unreachable', 30_000);
      const under = await zcloud.request('GET', `${API}/clusters/lc/namespaces`, { token: admin });
      expect(under.status).to.equal(503);
    } finally {
      await onHost(first, (c) => c.docker.getContainer('kube-apiserver').start());
    }
    await waitForStatus('Running', 90_000);
  });

  it('resumes an update cut short by zcloud stopping when it starts again on the same data', async () => {
    const put = await zcloud.request('PUT', `${API}/clusters/lc`, { token: admin, body: body(twoNodes()) });
    expect(put.body.status, put.text).to.equal('Updating');
    await zcloud.close();
    zcloud = await startTestZcloud({ dataDir: zcloud.dataDir, env: zcloudEnv });
    admin = await zcloud.adminToken();
    expect((await get()).body.status).to.equal('Updating');
    await waitForStatus('Running', 240_000);
    expect((await get()).body.message).to.equal('');
    expect(await containers(third, CLUSTER_LABEL)).to.deep.equal([]);
    expect((await core.listNode()).items.map((n) => n.metadata?.name)).not.to.include(third.name);
  });

  it('PUT removes the etcd node: its member leaves the etcd cluster before its containers go, its Node object deleted', async () => {
    const etcdMembers = () => onHost(first, (c) => execIn(c.docker, 'etcd', etcdctlCommand(node(first, roles.first) as ProvisionedNode, ['member', 'list']), { cluster: 'lc', host: first.name, timeoutMs: 30_000 }));
    expect(await etcdMembers()).to.include(`etcd-${second.name}`);
    const put = await zcloud.request('PUT', `${API}/clusters/lc`, { token: admin, body: body([node(first, roles.first)]) });
    expect(put.status, put.text).to.equal(200);
    await waitForStatus('Running', 240_000);
    expect((await get()).body.message).to.equal('');
    const members = await etcdMembers();
    expect(members).to.include(`etcd-${first.name}`);
    expect(members).not.to.include(`etcd-${second.name}`);
    expect(await containers(second, CLUSTER_LABEL)).to.deep.equal([]);
    expect(readdirSync(hostDir(second, '/var/lib/etcd'))).to.deep.equal([]);
    expect((await core.listNode()).items.map((n) => n.metadata?.name)).to.deep.equal([first.name]);
  });

  it('DELETE: Deleting (retried with backoff while a host is unreachable, saying so), then gone; no zcloud or pod container on any host, a foreign container survives', async () => {
    await runPodOn(first, 'on-first');
    await onHost(first, async (c) => {
      const foreign = await c.docker.createContainer({ name: 'started-by-hand', Image: imageReference('base'), Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'host' } });
      await foreign.start();
    });
    // The first host's sshd stops: its address refuses SSH until the host set is brought up again.
    process.kill(readHostPids(hostSetLayout(setName))[first.name]!.sshd!, 'SIGTERM');
    const removed = await zcloud.request('DELETE', `${API}/clusters/lc`, { token: admin });
    expect(removed.status, removed.text).to.equal(204);
    expect((await get()).body.status).to.equal('Deleting');
    expect((await zcloud.request('GET', `${API}/clusters`, { token: admin })).body.data.map((c: { status: string }) => c.status)).to.deep.equal(['Deleting']);
    await eventually(async () => {
      const got = await get();
      expect(got.body.status).to.equal('Deleting');
      expect(got.body.message).to.satisfy((m: string) => m.startsWith(`retrying with backoff: ${first.name}: `), got.body.message);
    }, { within: 60_000, interval: 500 });
    await upHosts(setName);
    await eventually(async () => expect((await get()).status).to.equal(404), { within: 180_000, interval: 500 });
    for (const host of [first, second, third]) {
      expect(await containers(host, CLUSTER_LABEL), host.name).to.deep.equal([]);
      expect(await containers(host, 'io.kubernetes.pod.namespace'), host.name).to.deep.equal([]);
      expect(existsSync(join(hostDir(host, '/etc/kubernetes'), 'ssl')), host.name).to.equal(false);
      expect(readdirSync(hostDir(host, '/var/lib/kubelet')), host.name).to.deep.equal([]);
      expect(readdirSync(hostDir(host, '/var/lib/etcd')), host.name).to.deep.equal([]);
    }
    expect((await onHost(first, (c) => c.docker.getContainer('started-by-hand').inspect())).State.Running).to.equal(true);
  });

  it('DELETE during Creating cancels the run first, then cleans the host', async () => {
    const created = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { ...body([node(third, roles.first)]), name: 'lc-short' } });
    expect(created.status, created.text).to.equal(201);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const removed = await zcloud.request('DELETE', `${API}/clusters/lc-short`, { token: admin });
    expect(removed.status, removed.text).to.equal(204);
    await eventually(async () => expect((await get('lc-short')).status).to.equal(404), { within: 60_000, interval: 500 });
    expect(await containers(third, CLUSTER_LABEL)).to.deep.equal([]);
  });
});
