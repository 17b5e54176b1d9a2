import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { expect } from 'chai';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ProvisionedClusterInputSchema } from '../../src/clusters/provisioning-spec.js';
import { runOnce } from '../../src/provisioning/containers.js';
import { imageReference } from '../../src/provisioning/images.js';
import { readyControlplane } from '../../src/provisioning/provisioning-run.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { onHost, hostDir as hostDirOf, type TestHost } from '../helpers/provisioned-hosts.js';
import { eventually } from '../helpers/world.js';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

const setName = 'pg-net';
signalHostSetOnExit(setName);

type Host = TestHost;

/**
 * The kubelet on CNI: pods get addresses of their node's podCIDR on bridge cni0, and a pod on
 * one node reaches a pod on the other by its pod IP (zcloud's routes between the nodes). DELETE
 * takes the routes, the bridge and the CNI files off the hosts. Both hosts are controlplanes: the
 * cluster API is reached through the first one whose apiserver is ready.
 */
describe('clusters: the pod network across nodes (real hosts)', function () {
  this.timeout(900_000);
  let set: HostSetInfo;
  let zcloud: TestZcloud;
  let admin: string;
  let first: Host, second: Host;
  let core: CoreV1Api;
  let kubeconfigYaml: string;
  let nodes: { name: string; address: string; roles: string[] }[];

  /** What `command` prints in a host-network container of the host (the kube-proxy image has busybox's `ip`). */
  const onHostNetwork = (host: Host, command: string[]) => onHost(set, host, (c) => runOnce(c.docker, imageReference('kube-proxy'), command, { cluster: 'pg-net-probe', host: host.name, timeoutMs: 20_000 }, { privileged: true }));
  const hostDir = (host: Host, dir: string) => hostDirOf(setName, host, dir);

  const pod = (name: string, host: Host, command: string[], restartPolicy: 'Always' | 'Never'): V1Pod => ({
    metadata: { name, namespace: 'default' },
    spec: { nodeName: host.name, restartPolicy, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: imageReference('base'), imagePullPolicy: 'Never', command }] },
  });

  before(async function () {
    this.timeout(600_000);
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 2 });
    [first, second] = set.hosts.nodes as [Host, Host];
    zcloud = await startTestZcloud();
    admin = await zcloud.adminToken();
    nodes = [{ name: first.name, address: first.address, roles: ['controlplane', 'etcd', 'worker'] }, { name: second.name, address: second.address, roles: ['controlplane', 'worker'] }];
    const created = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { name: 'pg-net', nodes, sshUser: set.hosts.sshUser, sshKey: set.hosts.sshKey } });
    expect(created.status, created.text).to.equal(201);
    await eventually(async () => {
      const got = await zcloud.request('GET', `${API}/clusters/pg-net`, { token: admin });
      expect(got.body.status, JSON.stringify(got.body)).to.equal('Running');
    }, { within: 400_000, interval: 1_000 });
    const kubeconfig = await zcloud.request('POST', `${API}/clusters/pg-net?action=getkubeconfig`, { token: admin });
    kubeconfigYaml = kubeconfig.body.config;
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml);
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

  it('a pod on one node reaches a pod on the other by its pod IP; each pod IP lies in its node\'s podCIDR', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('server', second, ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && httpd -f -p 8080 -h /www'], 'Always') });
    let serverIp = '';
    await eventually(async () => {
      const got = await core.readNamespacedPod({ namespace: 'default', name: 'server' });
      expect(got.status?.phase).to.equal('Running');
      serverIp = got.status?.podIP ?? '';
      expect(serverIp).to.not.equal('');
    }, { within: 120_000, interval: 1_000 });
    const secondNode = await core.readNode({ name: second.name });
    const podCidr = secondNode.spec?.podCIDR ?? '';
    expect(podCidr).to.match(/^10\.42\.\d+\.0\/24$/);
    expect(serverIp.split('.').slice(0, 3).join('.')).to.equal(podCidr.split('.').slice(0, 3).join('.'));

    // The client exits 0 once it fetched the server's page (its hostname: the pod name) by pod IP.
    // nc, not wget: the test world's static busybox wget crashes resolving (no NSS in the image).
    const fetch = `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${serverIp} 8080 | grep -qx server`;
    await core.createNamespacedPod({ namespace: 'default', body: pod('client', first, ['sh', '-c', `for i in $(seq 30); do ${fetch} && exit 0; sleep 1; done; exit 1`], 'Never') });
    await eventually(async () => {
      const got = await core.readNamespacedPod({ namespace: 'default', name: 'client' });
      expect(got.status?.phase).to.be.oneOf(['Succeeded', 'Failed']);
      expect(got.status?.phase, JSON.stringify(got.status?.containerStatuses)).to.equal('Succeeded');
      const clientIp = got.status?.podIP ?? '';
      const firstCidr = (await core.readNode({ name: first.name })).spec?.podCIDR ?? '';
      if (clientIp) expect(clientIp.split('.').slice(0, 3).join('.')).to.equal(firstCidr.split('.').slice(0, 3).join('.'));
    }, { within: 120_000, interval: 1_000 });
    // The route the client's packets took: the second node's podCIDR through its address.
    expect(await onHostNetwork(first, ['ip', '-4', 'route', 'show'])).to.include(`${podCidr} via ${second.address}`);
  });

  it('with several controlplanes, the cluster API is reached through the first ready one: the second while the first apiserver is stopped', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml);
    const user = kc.getCurrentUser()!;
    const admin = { caPem: Buffer.from(kc.getCurrentCluster()!.caData!, 'base64').toString(), certPem: Buffer.from(user.certData!, 'base64').toString(), keyPem: Buffer.from(user.keyData!, 'base64').toString() };
    const spec = ProvisionedClusterInputSchema.parse({ nodes, sshUser: set.hosts.sshUser, sshKey: set.hosts.sshKey });
    expect((await readyControlplane(spec, admin))?.name).to.equal(first.name);
    await onHost(set, first, (c) => c.docker.getContainer('kube-apiserver').stop({ t: 1 }));
    try {
      expect((await readyControlplane(spec, admin))?.name).to.equal(second.name);
    } finally {
      await onHost(set, first, (c) => c.docker.getContainer('kube-apiserver').start());
    }
    await eventually(async () => expect((await readyControlplane(spec, admin))?.name).to.equal(first.name), { within: 60_000, interval: 1_000 });
  });

  it('DELETE takes the routes, the bridge and the CNI files off the hosts', async () => {
    const removed = await zcloud.request('DELETE', `${API}/clusters/pg-net`, { token: admin });
    expect(removed.status, removed.text).to.equal(204);
    await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/pg-net`, { token: admin })).status).to.equal(404), { within: 120_000, interval: 500 });
    for (const host of [first, second]) {
      const routes = await onHostNetwork(host, ['ip', '-4', 'route', 'show']);
      expect(routes, host.name).to.not.match(/^10\.42\./m);
      expect(await onHostNetwork(host, ['ip', 'link', 'show']), host.name).to.not.include('cni0');
      expect(existsSync(join(hostDir(host, '/opt'), 'cni')), host.name).to.equal(false);
      expect(readdirSync(hostDir(host, '/etc/cni')), host.name).to.deep.equal([]);
      expect(readdirSync(hostDir(host, '/var/lib/cni')), host.name).to.deep.equal([]);
    }
  });
});
