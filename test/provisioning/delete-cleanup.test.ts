import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { clusterContainers } from '../../src/provisioning/containers.js';
import { snapshotEtcd } from '../../src/provisioning/etcd-snapshot.js';
import { imageReference } from '../../src/provisioning/images.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { hostDir as hostDirOf, onHost } from '../helpers/provisioned-hosts.js';
import { eventually } from '../helpers/world.js';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

const setName = 'pg-del';
signalHostSetOnExit(setName);

/** The host directories zcloud writes below (each a per-host mount in the test world). */
const HOST_ROOTS = ['/etc/kubernetes', '/etc/docker', '/etc/cni', '/var/lib/etcd', '/var/lib/kubelet', '/var/lib/dockershim', '/var/lib/cni', '/var/log', '/opt'];

/**
 * DELETE of a provisioned cluster takes back every file a create (and its snapshots, its
 * kubelet's pods) put on the host, not only its containers: certificates, the proxy config,
 * the registry CA and the kubelet's registry credentials, etcd's data and snapshots, the
 * kubelet's pod directories, checkpoints and logs. Files and a container of someone else survive.
 */
describe('clusters: DELETE leaves no zcloud file on the host (real host)', function () {
  this.timeout(600_000);
  let set: HostSetInfo;
  let zcloud: TestZcloud;
  let admin: string;

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 1 });
    zcloud = await startTestZcloud();
    admin = await zcloud.adminToken();
  });

  after(async function () {
    this.timeout(120_000);
    try {
      await zcloud?.close();
    } finally {
      await destroyHosts(setName);
    }
  });

  const host = () => set.hosts.nodes[0]!;
  /** A host's directory as seen from this machine (a bind mount inside the host). */
  const hostDir = (dir: string) => hostDirOf(setName, host(), dir);
  /** Every file and directory below the host roots, as host paths. */
  function hostPaths(): string[] {
    const found: string[] = [];
    const walk = (hostPath: string, local: string) => {
      for (const entry of readdirSync(local)) {
        const path = `${hostPath}/${entry}`;
        found.push(path);
        const stat = statSync(join(local, entry), { throwIfNoEntry: false });
        if (stat?.isDirectory()) walk(path, join(local, entry));
      }
    };
    for (const root of HOST_ROOTS) walk(root, hostDir(root));
    return found.sort();
  }
  function writeOnHost(path: string, content: string): void {
    const root = HOST_ROOTS.find((r) => path.startsWith(`${r}/`))!;
    const local = join(hostDir(root), path.slice(root.length + 1));
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, content);
  }

  it('after DELETE, none of the paths a create, a snapshot and a pod wrote is left; foreign files and a foreign container survive', async () => {
    const foreign = ['/etc/docker/certs.d/other.example:5000/ca.crt', '/opt/zcloud/etcd-snapshots/other-20260101T000000000Z.db', '/opt/tools/keep.txt', '/var/log/syslog'];
    for (const path of foreign) writeOnHost(path, 'not zcloud\'s\n');
    const before = hostPaths();

    const registry = { url: 'https://registry.pg.test:5000', user: 'puller', password: 'pg-registry-secret', cacert: '-----BEGIN CERTIFICATE-----\nnot checked by anyone here\n-----END CERTIFICATE-----\n' };
    const body = { name: 'pg-del', nodes: [{ name: host().name, address: host().address, roles: ['controlplane', 'etcd', 'worker'] }], sshUser: set.hosts.sshUser, sshKey: set.hosts.sshKey, privateRegistries: [registry] };
    const created = await zcloud.request('POST', `${API}/clusters`, { token: admin, body });
    expect(created.status, created.text).to.equal(201);
    await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/pg-del`, { token: admin })).body.status).to.equal('Running'), { within: 300_000, interval: 1_000 });

    // A pod (its volumes, checkpoints, logs) and an etcd snapshot, as the cluster's life makes them.
    const kubeconfig = await zcloud.request('POST', `${API}/clusters/pg-del?action=getkubeconfig`, { token: admin });
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig.body.config);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'sleeper' }, spec: { nodeName: host().name, hostNetwork: true, terminationGracePeriodSeconds: 1, containers: [{ name: 'sleep', image: imageReference('base'), imagePullPolicy: 'Never', command: ['sleep', '3600'] }] } },
    });
    await eventually(async () => expect((await core.readNamespacedPod({ namespace: 'default', name: 'sleeper' })).status?.phase).to.equal('Running'), { within: 120_000, interval: 1_000 });
    const node = { name: host().name, address: host().address, roles: ['controlplane', 'etcd', 'worker'] as ('controlplane' | 'etcd' | 'worker')[] };
    const snapshot = await onHost(set, host(), (c) => snapshotEtcd(c.docker, node, 6, { cluster: 'pg-del', host: host().name, timeoutMs: 60_000 }));
    const foreignContainer = await onHost(set, host(), async (c) => {
      const made = await c.docker.createContainer({ name: 'pg-started-by-hand', Image: imageReference('base'), Cmd: ['sleep', '3600'] });
      await made.start();
      return made.id;
    });

    const written = hostPaths().filter((p) => !before.includes(p));
    // What the test expects a create to have written: if one of these is missing, the list below proves nothing.
    for (const path of [
      '/etc/kubernetes/ssl/ca.crt',
      '/etc/docker/certs.d/registry.pg.test:5000/ca.crt',
      '/var/lib/kubelet/config.json',
      '/var/lib/etcd/data',
      snapshot.file,
    ]) expect(written, path).to.include(path);
    expect(written.some((p) => p.startsWith('/var/log/pods/default_sleeper_')), 'pod logs').to.equal(true);
    expect(written.some((p) => p.startsWith('/var/lib/kubelet/pods/')), 'pod directory').to.equal(true);

    const removed = await zcloud.request('DELETE', `${API}/clusters/pg-del`, { token: admin });
    expect(removed.status, removed.text).to.equal(204);
    await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/pg-del`, { token: admin })).status).to.equal(404), { within: 120_000, interval: 500 });

    expect(hostPaths().filter((p) => !before.includes(p)), 'paths zcloud left').to.deep.equal([]);
    for (const path of foreign) expect(hostPaths(), path).to.include(path);
    await onHost(set, host(), async (c) => {
      expect(await clusterContainers(c.docker, { cluster: 'pg-del', host: host().name, timeoutMs: 10_000 })).to.deep.equal([]);
      expect((await c.docker.getContainer(foreignContainer).inspect()).State.Running).to.equal(true);
      await c.docker.getContainer(foreignContainer).remove({ force: true });
    });
  });
});
