import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import ssh2, { type ConnectConfig } from 'ssh2';
import { imageReference, imageRoles } from '../../src/provisioning/images.js';
import { hostCgroupParent } from '../../scripts/testenv/hosts/dockerd.js';
import { destroyHosts, hostSetLeftovers, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { buildHostImages, loadImages } from '../../scripts/testenv/hosts/images.js';
import { hostSetLayout, readHostSetState, type HostsFile } from '../../scripts/testenv/hosts/layout.js';
import { hostControlPlanePki } from '../helpers/host-control-plane.js';
import { eventually } from '../helpers/world.js';

const { Client, utils } = ssh2;
const run = promisify(execFile);

/** Host set names of this file; short, since they prefix interface and namespace names. */
const mainSet = 'testenv-hosts-a';
const otherSet = 'testenv-hosts-b';

type HostEntry = HostsFile['nodes'][number];

/** An open SSH connection as the login user, with the key from hosts.json unless `privateKey` says otherwise. */
function sshConnect(hosts: HostsFile, node: HostEntry, privateKey: string = hosts.sshKey): Promise<ssh2.Client> {
  const config: ConnectConfig = { host: node.address, port: node.sshPort, username: hosts.sshUser, privateKey, readyTimeout: 10_000 };
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect(config);
  });
}

/** Runs `command` over `client`; resolves with stdout once it exits 0. */
function sshExec(client: ssh2.Client, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      channel.on('data', (data: Buffer) => (stdout += data.toString('utf8')));
      channel.stderr.on('data', (data: Buffer) => (stderr += data.toString('utf8')));
      channel.on('close', (code: number | null) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} exited with ${code}: ${stderr}`))));
    });
  });
}

/**
 * A unix socket on this machine that forwards every connection over SSH to the host's Docker
 * socket (OpenSSH's direct-streamlocal), the way zcloud reaches a host's dockerd.
 */
interface ForwardedSocket {
  path: string;
  close(): Promise<void>;
}

async function forwardDockerSocket(hosts: HostsFile, node: HostEntry): Promise<ForwardedSocket> {
  const client = await sshConnect(hosts, node);
  const dir = mkdtempSync(join(tmpdir(), 'zcloud-docker-'));
  const path = join(dir, 'docker.sock');
  // Half-open allowed: the Docker CLI closes its write side once stdin is done, and the
  // container's output must still flow back on the other side.
  const server: Server = createServer({ allowHalfOpen: true }, (local) => {
    client.openssh_forwardOutStreamLocal(hosts.dockerSocket, (err, remote) => {
      if (err) {
        local.destroy(err);
        return;
      }
      local.pipe(remote).pipe(local);
      local.on('error', () => remote.destroy());
      remote.on('error', () => local.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The Docker CLI of this machine against `socketPath`. */
async function docker(socketPath: string, args: string[]): Promise<string> {
  const { stdout } = await run('docker', ['--host', `unix://${socketPath}`, ...args], { encoding: 'utf8', timeout: 120_000 });
  return stdout;
}

function httpsStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // The apiserver's self-signed serving certificate: this checks who answers, not trust.
    const probe = request(url, { rejectUnauthorized: false, timeout: 3_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    probe.on('timeout', () => probe.destroy(new Error(`GET ${url}: timed out`)));
    probe.on('error', reject);
    probe.end();
  });
}

for (const name of [mainSet, otherSet]) signalHostSetOnExit(name);

describe('test world: hosts', function () {
  // A cold set takes ~10 s plus image loading; the apiserver test waits for a real apiserver.
  this.timeout(300_000);
  let main: HostSetInfo;
  const openSockets: ForwardedSocket[] = [];

  before(async function () {
    await destroyHosts(mainSet);
    main = await upHosts(mainSet, { count: 2 });
  });

  after(async function () {
    this.timeout(120_000);
    // Stops every daemon and container by pid, then removes namespaces, interfaces and files.
    try {
      await Promise.all(openSockets.map((socket) => socket.close()));
    } finally {
      await destroyHosts(otherSet);
      await destroyHosts(mainSet);
    }
  });

  async function dockerOn(node: HostEntry): Promise<string> {
    const socket = await forwardDockerSocket(main.hosts, node);
    openSockets.push(socket);
    return socket.path;
  }

  it('publishes hosts.json: login user, key, Docker socket and one address per host', function () {
    expect(main.hostsJsonPath).to.equal(join(hostSetLayout(mainSet).dir, 'hosts.json'));
    expect(main.hosts.sshUser).to.equal('zcloud');
    expect(main.hosts.sshKey).to.match(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(main.hosts.dockerSocket).to.equal('/var/run/docker.sock');
    expect(main.hosts.nodes.map((node) => node.name)).to.deep.equal([`${mainSet}-host-1`, `${mainSet}-host-2`]);
    for (const node of main.hosts.nodes) {
      expect(node.address).to.match(/^10\.209\.\d+\.\d+$/);
      expect(node.sshPort).to.equal(22);
    }
  });

  it('loads every buildable image of zcloud\'s image table into every host, once (by content hash)', async function () {
    const missing = new Set(main.missingImages.map((image) => image.role));
    const expected = imageRoles.filter((role) => !missing.has(role)).map((role) => imageReference(role)).sort();
    const { images } = await buildHostImages();
    for (const node of main.hosts.nodes) {
      const socket = hostSetLayout(mainSet).host(node.name).dockerSocketOutside;
      const listed = (await docker(socket, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).trim().split('\n');
      expect([...listed].sort()).to.deep.equal(expected);
      // What a second `hosts` does: every image is there with the same hash, nothing is imported.
      expect(await loadImages(socket, images)).to.deep.equal([]);
    }
  });

  it('lets ssh2 in on every host with the key, running commands as the login user', async function () {
    for (const node of main.hosts.nodes) {
      const client = await sshConnect(main.hosts, node);
      try {
        const output = await sshExec(client, 'id -un; hostname; id -Gn');
        const [user, hostname, groups] = output.trim().split('\n');
        expect(user).to.equal('zcloud');
        expect(hostname).to.equal(node.name);
        expect(groups?.split(' ')).to.include('docker');
      } finally {
        client.end();
      }
    }
  });

  it('refuses a key it does not know', async function () {
    const stranger = utils.generateKeyPairSync('ed25519');
    const node = main.hosts.nodes[0]!;
    let refused: Error | undefined;
    try {
      const client = await sshConnect(main.hosts, node, stranger.private);
      client.end();
    } catch (err) {
      refused = err as Error;
    }
    expect(refused?.message).to.match(/authentication methods failed/i);
  });

  it('runs a container with host networking through an SSH-forwarded Docker socket, seeing only its own host', async function () {
    const base = imageReference('base');
    for (const node of main.hosts.nodes) {
      // The host's /etc/kubernetes, as seen from this machine (a bind mount inside the host).
      writeFileSync(join(hostSetLayout(mainSet).host(node.name).dir, 'fs', 'etc-kubernetes', 'marker'), `${node.name}\n`);
    }
    for (const node of main.hosts.nodes) {
      const socket = await dockerOn(node);
      const output = await docker(socket, [
        'run', '--rm', '--network', 'host', '--volume', '/etc/kubernetes:/etc/kubernetes:ro', base,
        'sh', '-c', 'ip -4 -o addr show; cat /etc/kubernetes/marker; hostname',
      ]);
      expect(output).to.contain(`inet ${node.address}/24`);
      const lines = output.trim().split('\n');
      expect(lines.slice(-2)).to.deep.equal([node.name, node.name]);
      const others = main.hosts.nodes.filter((other) => other.name !== node.name);
      for (const other of others) expect(output).to.not.contain(other.address);
    }
  });

  it('runs two host sets side by side; destroy leaves nothing behind', async function () {
    const other = await upHosts(otherSet, { count: 1 });
    const otherNode = other.hosts.nodes[0]!;
    const mainSubnet = main.hosts.nodes[0]!.address.split('.').slice(0, 3).join('.');
    expect(otherNode.address.startsWith(`${mainSubnet}.`)).to.equal(false);
    const client = await sshConnect(other.hosts, otherNode);
    try {
      expect((await sshExec(client, 'hostname')).trim()).to.equal(otherNode.name);
    } finally {
      client.end();
    }
    // Each set has its own key: the other set's key does not open the main set's hosts.
    let refused = false;
    await sshConnect(main.hosts, main.hosts.nodes[0]!, other.hosts.sshKey).then((c) => c.end(), () => (refused = true));
    expect(refused).to.equal(true);

    const state = readHostSetState(hostSetLayout(otherSet))!;
    await destroyHosts(otherSet);
    expect(await hostSetLeftovers(state)).to.deep.equal([]);
    // The main set is untouched.
    const still = await sshConnect(main.hosts, main.hosts.nodes[0]!);
    still.end();
  });

  /**
   * etcd and a kube-apiserver (client-certificate auth, Node and RBAC authorization) in the
   * first host's Docker, on its network; started once, by whichever test needs it first.
   */
  let controlPlane: Promise<{ address: string; kc: KubeConfig }> | undefined;
  function startControlPlane(): Promise<{ address: string; kc: KubeConfig }> {
    controlPlane ??= (async () => {
      const node = main.hosts.nodes[0]!;
      const layout = hostSetLayout(mainSet);
      const pki = await hostControlPlanePki(join(layout.dir, 'test-pki'), node.address, 6443, main.hosts.nodes.map((n) => n.name));
      for (const host of main.hosts.nodes) {
        for (const [name, content] of Object.entries(pki.files)) writeFileSync(join(layout.host(host.name).dir, 'fs', 'etc-kubernetes', name), content, { mode: 0o600 });
      }
      const socket = await dockerOn(node);
      await docker(socket, [
        'run', '--detach', '--name', 'etcd', '--network', 'host', '--volume', '/var/lib/etcd:/var/lib/etcd', imageReference('etcd'),
        'etcd', '--data-dir=/var/lib/etcd/data', '--listen-client-urls=http://127.0.0.1:2379', '--advertise-client-urls=http://127.0.0.1:2379',
        '--listen-peer-urls=http://127.0.0.1:2380', '--initial-advertise-peer-urls=http://127.0.0.1:2380', '--initial-cluster=default=http://127.0.0.1:2380',
      ]);
      await docker(socket, [
        'run', '--detach', '--name', 'kube-apiserver', '--network', 'host', '--volume', '/etc/kubernetes:/etc/kubernetes:ro', imageReference('kube-apiserver'),
        'kube-apiserver', '--etcd-servers=http://127.0.0.1:2379', `--bind-address=${node.address}`, `--advertise-address=${node.address}`,
        '--secure-port=6443', '--insecure-port=0', '--client-ca-file=/etc/kubernetes/ca.crt',
        '--tls-cert-file=/etc/kubernetes/apiserver.crt', '--tls-private-key-file=/etc/kubernetes/apiserver.key',
        '--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction', '--allow-privileged=true',
        '--service-account-key-file=/etc/kubernetes/sa.pub', '--service-account-signing-key-file=/etc/kubernetes/sa.key',
        '--service-account-issuer=https://kubernetes.default.svc', '--service-cluster-ip-range=10.96.0.0/16',
      ]);
      const kc = new KubeConfig();
      kc.loadFromString(pki.adminKubeconfig);
      return { address: node.address, kc };
    })();
    return controlPlane;
  }

  it('runs a real kube-apiserver in a host\'s Docker, on the host network, answering on the host\'s address', async function () {
    if (main.missingImages.some((image) => image.role === 'kube-apiserver')) this.skip();
    const { address, kc } = await startControlPlane();
    // From this machine (the root namespace), across the bridge, to the host's own address.
    await eventually(async () => expect(await httpsStatus(`https://${address}:6443/healthz`)).to.equal(200), { within: 120_000, interval: 1_000 });
    const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(namespaces.items.map((ns) => ns.metadata?.name)).to.include('kube-system');
    // Bound to that host's address only: the other host does not answer on 6443.
    const otherNode = main.hosts.nodes[1]!;
    let otherAnswered = true;
    await httpsStatus(`https://${otherNode.address}:6443/healthz`).catch(() => (otherAnswered = false));
    expect(otherAnswered).to.equal(false);
  });

  it('runs a real kubelet (dockershim, cgroupfs) in a privileged container: its host becomes a Ready node with the credentials given to it, and runs a pod', async function () {
    if (main.missingImages.some((image) => image.role === 'kubelet' || image.role === 'kube-apiserver')) this.skip();
    const { address, kc } = await startControlPlane();
    await eventually(async () => expect(await httpsStatus(`https://${address}:6443/healthz`)).to.equal(200), { within: 120_000, interval: 1_000 });
    const node = main.hosts.nodes[1]!;
    const host = hostSetLayout(mainSet).host(node.name);
    const socket = await dockerOn(node);
    // As ZKE runs it: privileged, host network and pid, the host's kubelet, runtime and log paths.
    const volumes = [
      '/etc/kubernetes:/etc/kubernetes:ro',
      '/var/lib/kubelet:/var/lib/kubelet:shared',
      '/var/lib/dockershim:/var/lib/dockershim',
      '/var/log:/var/log',
      '/run:/run',
      '/sys:/sys',
      '/dev:/dev',
      // cAdvisor reads the Docker data root `docker info` names; dockershim rewrites resolv.conf files in it.
      `${host.dockerDataRoot}:${host.dockerDataRoot}`,
    ].flatMap((volume) => ['--volume', volume]);
    await docker(socket, [
      'run', '--detach', '--name', 'kubelet', '--privileged', '--network', 'host', '--pid', 'host', ...volumes, imageReference('kubelet'),
      'kubelet', `--kubeconfig=/etc/kubernetes/kubelet-${node.name}.kubeconfig`,
      '--container-runtime=docker', '--docker-endpoint=unix:///var/run/docker.sock',
      // The host's own cgroup (made by `hosts` in every hierarchy), under which dockerd also puts its containers.
      '--cgroup-driver=cgroupfs', `--cgroup-root=/${hostCgroupParent(node.name)}`,
      `--node-ip=${node.address}`, `--address=${node.address}`, `--hostname-override=${node.name}`,
      `--pod-infra-container-image=${imageReference('pause')}`,
      '--fail-swap-on=false', '--read-only-port=0', '--anonymous-auth=false', '--client-ca-file=/etc/kubernetes/ca.crt',
    ]);
    const core = kc.makeApiClient(CoreV1Api);
    await eventually(async () => {
      const registered = await core.readNode({ name: node.name });
      expect(registered.status?.conditions?.find((condition) => condition.type === 'Ready')?.status).to.equal('True');
      expect(registered.status?.addresses?.find((entry) => entry.type === 'InternalIP')?.address).to.equal(node.address);
    }, { within: 180_000, interval: 1_000 });
    // The image's iptables works in the host's network namespace: the kubelet made its chains there.
    await eventually(() => docker(socket, ['exec', 'kubelet', 'iptables', '-t', 'nat', '-S', 'KUBE-MARK-DROP']), { within: 30_000, interval: 1_000 });

    // No scheduler or controller-manager runs here: the pod is bound by hand and needs no token.
    await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'default' } } });
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'sleeper' },
        spec: {
          nodeName: node.name,
          hostNetwork: true,
          automountServiceAccountToken: false,
          containers: [{ name: 'sleep', image: imageReference('base'), imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
        },
      },
    });
    await eventually(async () => {
      const pod = await core.readNamespacedPod({ name: 'sleeper', namespace: 'default' });
      expect(pod.status?.phase).to.equal('Running');
      expect(pod.status?.podIP).to.equal(node.address);
    }, { within: 120_000, interval: 1_000 });
  });
});
