import { AppsV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import type Docker from 'dockerode';
import { clusterContainers } from '../../src/provisioning/containers.js';
import { connectHost } from '../../src/provisioning/host-connection.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { threeHostCluster } from '../helpers/three-hosts.js';
import { eventually } from '../helpers/world.js';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

const setName = 'ad-three';
signalHostSetOnExit(setName);

/** Output of `command` run inside the host's container `container` (docker exec, TTY: plain bytes). */
async function execIn(docker: Docker, container: string, command: string[]): Promise<string> {
  const exec = await docker.getContainer(container).exec({ Cmd: command, AttachStdout: true, AttachStderr: true, Tty: true });
  const stream = await exec.start({ hijack: true, stdin: false, Tty: true });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The issue's 3-host create through the API: controlplane+etcd, worker, worker+edge. Running;
 * the cluster answers with the kubeconfig zcloud returns; every node Ready, labelled and tainted
 * by role (the workers reaching the apiserver through their local proxy); kube-proxy programs iptables on every host; the RBAC bindings, the network add-on,
 * CoreDNS and the ingress controller exist with the spec's values (the test world cannot pull
 * the add-ons' images, so their pods do not run: their objects are what is checked); the
 * cluster's nodes, namespaces and pods are served from zcloud's cache.
 */
describe('clusters: a 3-host cluster provisioned through the API (real hosts)', function () {
  this.timeout(900_000);
  let set: HostSetInfo;
  let zcloud: TestZcloud;
  let admin: string;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let rbac: RbacAuthorizationV1Api;
  const names = () => set.hosts.nodes.map((n) => n.name) as [string, string, string];

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 3 });
    zcloud = await startTestZcloud();
    admin = await zcloud.adminToken();
  });

  after(async function () {
    this.timeout(180_000);
    try {
      if (zcloud) await zcloud.request('DELETE', `${API}/clusters/three`, { token: admin }).catch(() => undefined);
      await zcloud?.close();
    } finally {
      await destroyHosts(setName);
    }
  });

  it('creates the cluster: Creating, then Running; its apiserver answers with the kubeconfig of getkubeconfig', async () => {
    const created = await zcloud.request('POST', `${API}/clusters`, {
      token: admin,
      body: { name: 'three', ...threeHostCluster(set), clusterUpstreamDNS: ['192.0.2.53'], singleCloudAddress: '127.0.0.1:8080' },
    });
    expect(created.status, created.text).to.equal(201);
    expect(created.body.status).to.equal('Creating');
    await eventually(async () => {
      const got = await zcloud.request('GET', `${API}/clusters/three`, { token: admin });
      expect(got.body.status, JSON.stringify(got.body)).to.be.oneOf(['Creating', 'Running']);
      expect(got.body.status).to.equal('Running');
    }, { within: 600_000, interval: 2_000 });
    const kubeconfig = await zcloud.request('POST', `${API}/clusters/three?action=getkubeconfig`, { token: admin });
    expect(kubeconfig.status, kubeconfig.text).to.equal(200);
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig.body.config as string);
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    expect((await core.readNamespace({ name: 'kube-system' })).metadata?.name).to.equal('kube-system');
  });

  it('has every node Ready, labelled with its roles; the controlplane+etcd node tainted, the workers not', async () => {
    const [cp, worker, edge] = names();
    const nodes = (await core.listNode()).items;
    expect(nodes.map((n) => n.metadata?.name)).to.have.members([cp, worker, edge]);
    for (const node of nodes) expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, node.metadata?.name).to.equal('True');
    const byName = new Map(nodes.map((n) => [n.metadata!.name!, n]));
    const roleLabels = (name: string) => Object.keys(byName.get(name)!.metadata!.labels!).filter((l) => l.startsWith('node-role.kubernetes.io/')).sort();
    expect(roleLabels(cp)).to.deep.equal(['node-role.kubernetes.io/controlplane', 'node-role.kubernetes.io/etcd']);
    expect(roleLabels(worker)).to.deep.equal(['node-role.kubernetes.io/worker']);
    expect(roleLabels(edge)).to.deep.equal(['node-role.kubernetes.io/edge', 'node-role.kubernetes.io/worker']);
    const zcloudTaints = (name: string) => (byName.get(name)!.spec?.taints ?? []).filter((t) => t.key.startsWith('node-role.kubernetes.io/')).map((t) => `${t.key}=${t.value}:${t.effect}`).sort();
    expect(zcloudTaints(cp)).to.deep.equal(['node-role.kubernetes.io/controlplane=true:NoSchedule', 'node-role.kubernetes.io/etcd=true:NoExecute']);
    expect(zcloudTaints(worker)).to.deep.equal([]);
    expect(zcloudTaints(edge)).to.deep.equal([]);
  });

  it('runs kube-proxy in iptables mode on every host: the kubernetes service in its NAT rules, kube-dns (no endpoints here) rejected in its filter rules', async () => {
    for (const host of set.hosts.nodes) {
      const connection = await connectHost({ name: host.name, address: host.address, port: host.sshPort, user: set.hosts.sshUser, privateKey: set.hosts.sshKey }, { dockerSocket: '/var/run/docker.sock', timeoutMs: 10_000 });
      try {
        const containers = await clusterContainers(connection.docker, { cluster: 'three', host: host.name, timeoutMs: 10_000 });
        expect(containers).to.include.members(['kube-proxy', 'kubelet']);
        // Workers reach the apiserver through their local proxy only (their kubeconfigs say 127.0.0.1): they are Ready above.
        expect(containers.includes('apiserver-proxy'), host.name).to.equal(host.name !== names()[0]);
        await eventually(async () => {
          const nat = await execIn(connection.docker, 'kube-proxy', ['iptables-save', '-t', 'nat']);
          expect(nat, host.name).to.match(/-A KUBE-SERVICES -d 10\.43\.0\.1\/32 .*default\/kubernetes:https/);
          const filter = await execIn(connection.docker, 'kube-proxy', ['iptables-save', '-t', 'filter']);
          expect(filter, host.name).to.match(/-A KUBE-SERVICES -d 10\.43\.0\.10\/32 -p udp .*kube-system\/kube-dns:dns has no endpoints.* -j REJECT/);
        }, { within: 60_000, interval: 2_000 });
      } finally {
        await connection.close();
      }
    }
  });

  it('holds the RBAC bindings, flannel with the cluster CIDR, CoreDNS on the DNS IP and the ingress controller on edge nodes', async () => {
    const binding = await rbac.readClusterRoleBinding({ name: 'zcloud:kube-apiserver-kubelet-api-admin' });
    expect(binding.roleRef.name).to.equal('system:kubelet-api-admin');
    expect(binding.subjects?.map((s) => s.name)).to.deep.equal(['kube-apiserver-kubelet-client']);
    const dns = await core.readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' });
    expect(dns.spec?.clusterIP).to.equal('10.43.0.10');
    const corefile = (await core.readNamespacedConfigMap({ name: 'coredns', namespace: 'kube-system' })).data?.Corefile;
    expect(corefile).to.include('kubernetes cluster.local in-addr.arpa ip6.arpa');
    expect(corefile).to.include('forward . 192.0.2.53');
    expect((await apps.readNamespacedDeployment({ name: 'coredns', namespace: 'kube-system' })).spec?.template.spec?.containers[0]?.image).to.equal('zcloud/coredns:1.8.0');
    const flannel = (await core.readNamespacedConfigMap({ name: 'kube-flannel-cfg', namespace: 'kube-system' })).data!;
    expect(JSON.parse(flannel['net-conf.json']!)).to.deep.equal({ Network: '10.42.0.0/16', Backend: { Type: 'host-gw' } });
    const flannelDs = await apps.readNamespacedDaemonSet({ name: 'kube-flannel', namespace: 'kube-system' });
    // A flannel pod is scheduled on every node (tainted ones too), even if its image cannot be pulled here.
    expect(flannelDs.status?.desiredNumberScheduled).to.equal(3);
    const ingress = await apps.readNamespacedDaemonSet({ name: 'nginx-ingress-controller', namespace: 'ingress-nginx' });
    expect(ingress.spec?.template.spec?.nodeSelector).to.deep.equal({ 'node-role.kubernetes.io/edge': 'true' });
    expect(ingress.status?.desiredNumberScheduled).to.equal(1);
    const ingressPods = await core.listNamespacedPod({ namespace: 'ingress-nginx' });
    expect(ingressPods.items.map((p) => p.spec?.nodeName)).to.deep.equal([names()[2]]);
  });

  it('serves the cluster\'s nodes, namespaces and pods from zcloud\'s cache', async () => {
    await eventually(async () => {
      const nodes = await zcloud.request('GET', `${API}/clusters/three/nodes`, { token: admin });
      expect(nodes.status, nodes.text).to.equal(200);
      expect(nodes.body.data.map((n: { name: string }) => n.name)).to.have.members(names());
      const namespaces = await zcloud.request('GET', `${API}/clusters/three/namespaces`, { token: admin });
      expect(namespaces.body.data.map((n: { name: string }) => n.name)).to.include.members(['kube-system', 'ingress-nginx']);
      const pods = await zcloud.request('GET', `${API}/clusters/three/namespaces/kube-system/deployments/coredns/pods`, { token: admin });
      expect(pods.status, pods.text).to.equal(200);
      expect(pods.body.data).to.have.length(2);
    }, { within: 120_000, interval: 2_000 });
  });
});
