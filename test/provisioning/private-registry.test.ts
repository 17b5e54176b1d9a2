import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { runOnce } from '../../src/provisioning/containers.js';
import { connectHost, type HostConnection } from '../../src/provisioning/host-connection.js';
import { imageReference } from '../../src/provisioning/images.js';
import { ensureImage } from '../../src/provisioning/registries.js';
import { generateCa, ensureLeaf } from '../../scripts/testenv/pki.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { eventually } from '../helpers/world.js';
import { API, startTestZcloud, tempDir, type TestZcloud } from '../helpers/zcloud.js';

const setName = 'op-registry';
signalHostSetOnExit(setName);

/**
 * A private registry (Debian's docker-registry, the Distribution registry 2.8) on the host set's
 * bridge, with TLS from a test CA and htpasswd (bcrypt) auth: a cluster created with it in
 * `privateRegistries` gets the CA in the hosts' Docker and the credentials in the kubelet's
 * config.json; an image only in the registry is pulled by zcloud with the registry's
 * credentials and by the kubelet for a pod. The password is sealed at rest and shows nowhere.
 */
describe('provisioning: private registries (real registry, real host)', function () {
  this.timeout(600_000);
  let set: HostSetInfo;
  let zcloud: TestZcloud;
  let admin: string;
  let host: HostConnection;
  let registryProcess: ChildProcess | undefined;
  let registry: string;
  let caPem: string;
  const user = 'puller';
  const password = `reg-${randomBytes(12).toString('hex')}`;
  const image = () => `${registry}/zcloud/busybox:1.35.0`;
  const dockerOptions = () => ({ cluster: 'reg', host: set.hosts.nodes[0]!.name, timeoutMs: 60_000 });

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 1 });
    const node = set.hosts.nodes[0]!;
    const bridge = node.address.replace(/\.\d+$/, '.1');
    registry = `${bridge}:5000`;
    const dir = tempDir();
    const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
    await generateCa(dir, ca, 'zcloud-registry-test-ca');
    const serving = { cert: join(dir, 'registry.crt'), key: join(dir, 'registry.key') };
    await ensureLeaf(dir, ca, serving, { kind: 'server', commonName: 'registry', dnsNames: [], ipAddresses: [bridge] });
    caPem = readFileSync(ca.cert, 'utf8');
    // The registry reads bcrypt htpasswd only; libxcrypt's crypt(3) makes one ($2b$).
    const salt = randomBytes(16).toString('base64').replace(/[^A-Za-z0-9]/g, '').padEnd(22, 'a').slice(0, 22);
    const hash = execFileSync('python3', ['-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]))', password, `$2b$10$${salt}`], { encoding: 'utf8' }).trim();
    writeFileSync(join(dir, 'htpasswd'), `${user}:${hash}\n`);
    writeFileSync(
      join(dir, 'config.yml'),
      [
        'version: 0.1',
        'storage:',
        `  filesystem: {rootdirectory: ${join(dir, 'data')}}`,
        'http:',
        `  addr: ${registry}`,
        `  tls: {certificate: ${serving.cert}, key: ${serving.key}}`,
        'auth:',
        `  htpasswd: {realm: zcloud-test, path: ${join(dir, 'htpasswd')}}`,
        '',
      ].join('\n'),
    );
    const logFd = openSync(join(dir, 'registry.log'), 'a');
    registryProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', logFd, logFd] });
    await eventually(
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = connect(5000, bridge, () => (socket.end(), resolve()));
          socket.on('error', reject);
        }),
      { within: 20_000, interval: 300 },
    );
    zcloud = await startTestZcloud();
    admin = await zcloud.adminToken();
    host = await connectHost({ name: node.name, address: node.address, port: node.sshPort, user: set.hosts.sshUser, privateKey: set.hosts.sshKey }, { dockerSocket: '/var/run/docker.sock', timeoutMs: 10_000 });
  });

  after(async function () {
    this.timeout(120_000);
    try {
      await host?.close();
      await zcloud?.close();
      registryProcess?.kill('SIGTERM');
    } finally {
      await destroyHosts(setName);
    }
  });

  it('creates a cluster with the registry: the hosts get its CA and the kubelet its credentials (0600); the password is sealed at rest', async () => {
    const node = set.hosts.nodes[0]!;
    const created = await zcloud.request('POST', `${API}/clusters`, {
      token: admin,
      body: {
        name: 'reg',
        nodes: [{ name: node.name, address: node.address, roles: ['controlplane', 'etcd', 'worker'] }],
        sshUser: set.hosts.sshUser,
        sshKey: set.hosts.sshKey,
        privateRegistries: [{ url: registry, user, password, cacert: caPem }],
      },
    });
    expect(created.status, created.text).to.equal(201);
    expect(created.body.privateRegistries).to.deep.equal([{ url: registry, user, hasPassword: true, caCert: caPem }]);
    await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/reg`, { token: admin })).body.status).to.equal('Running'), { within: 300_000, interval: 2_000 });

    const ssl = (path: string) => runOnce(host.docker, imageReference('base'), ['sh', '-c', `stat -c %a ${path}; cat ${path}`], dockerOptions(), { binds: ['/etc/docker:/etc/docker:ro', '/var/lib/kubelet:/var/lib/kubelet:ro'] });
    const ca = (await ssl(`/etc/docker/certs.d/${registry}/ca.crt`)).replace(/\r/g, '');
    expect(ca.split('\n')[0]).to.equal('644');
    expect(ca.slice(4).trim()).to.equal(caPem.trim());
    const kubelet = (await ssl('/var/lib/kubelet/config.json')).replace(/\r/g, '');
    expect(kubelet.split('\n')[0]).to.equal('600');
    expect(JSON.parse(kubelet.slice(4))).to.deep.equal({ auths: { [registry]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } });
    expect(readFileSync(join(zcloud.dataDir, 'zcloud.json'), 'utf8')).to.not.include(password);
  });

  it('zcloud pulls an image missing on the host with the registry credentials; a wrong password fails naming registry and user, not the password', async () => {
    // Put the image into the registry from the host's Docker, which trusts the registry by the CA zcloud wrote.
    await host.docker.getImage(imageReference('base')).tag({ repo: `${registry}/zcloud/busybox`, tag: '1.35.0' });
    const push = await host.docker.getImage(image()).push({ authconfig: { username: user, password, serveraddress: registry } });
    await new Promise<void>((resolve, reject) =>
      host.docker.modem.followProgress(push, (err: Error | null, events: Array<{ error?: string }>) => {
        const failed = err?.message ?? events.find((e) => e.error)?.error;
        return failed ? reject(new Error(failed)) : resolve();
      }),
    );
    await host.docker.getImage(image()).remove();
    const registries = [{ url: registry, user, password: 'wrong', cacert: caPem }];
    let refusal: Error | undefined;
    await ensureImage(host.docker, image(), registries, (r) => r.password, dockerOptions()).catch((err: Error) => (refusal = err));
    expect(refusal?.message).to.match(new RegExp(`^image ${image().replace(/\./g, '\\.')} is not on \\S+ and could not be pulled from private registry ${registry.replace(/\./g, '\\.')} as ${user}: `));
    expect(refusal?.message).to.not.include('wrong');
    expect(await ensureImage(host.docker, image(), [{ ...registries[0]!, password }], (r) => r.password, dockerOptions())).to.equal('pulled');
    expect(await ensureImage(host.docker, image(), [{ ...registries[0]!, password }], (r) => r.password, dockerOptions())).to.equal('present');
    await host.docker.getImage(image()).remove();
  });

  it('the kubelet pulls a pod image only in the registry with the credentials zcloud gave it', async () => {
    const kubeconfig = await zcloud.request('POST', `${API}/clusters/reg?action=getkubeconfig`, { token: admin });
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig.body.config);
    const core = kc.makeApiClient(CoreV1Api);
    // Admission wants the namespace's default service account, which the controller-manager makes shortly after start.
    await eventually(
      () =>
        core.createNamespacedPod({
          namespace: 'default',
          body: {
            metadata: { name: 'from-registry' },
            spec: { hostNetwork: true, automountServiceAccountToken: false, containers: [{ name: 'main', image: image(), imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
          },
        }),
      { within: 60_000, interval: 1_000 },
    );
    await eventually(async () => {
      const pod = await core.readNamespacedPod({ name: 'from-registry', namespace: 'default' });
      expect(pod.status?.phase, JSON.stringify(pod.status?.containerStatuses)).to.equal('Running');
    }, { within: 120_000, interval: 2_000 });
    await core.deleteNamespacedPod({ name: 'from-registry', namespace: 'default', body: { gracePeriodSeconds: 0 } });
  });

  it('never shows the registry password in answers, the log, the audit trail, zkelog or container env', async () => {
    const texts = [
      (await zcloud.request('GET', `${API}/clusters`, { token: admin })).text,
      (await zcloud.request('GET', `${API}/auditlogs`, { token: admin })).text,
      (await zcloud.request('GET', `${API}/clusters/reg/zkelog`, { token: admin })).text,
      zcloud.logs(),
    ];
    for (const text of texts) expect(text).to.not.include(password);
    for (const c of await host.docker.listContainers({ all: true })) {
      const inspected = await host.docker.getContainer(c.Id).inspect();
      expect(JSON.stringify(inspected.Config.Env ?? []), c.Names[0]).to.not.include(password);
    }
    expect((await zcloud.request('DELETE', `${API}/clusters/reg`, { token: admin })).status).to.equal(204);
  });
});
