import { expect } from 'chai';
import ssh2 from 'ssh2';
import { clusterContainers } from '../../src/provisioning/containers.js';
import { connectHost } from '../../src/provisioning/host-connection.js';
import { imageReference } from '../../src/provisioning/images.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { parseExposition, valueOf } from '../helpers/metrics.js';
import { eventually } from '../helpers/world.js';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

const setName = 'prov-api';
signalHostSetOnExit(setName);

/**
 * POST /clusters with nodes on a real host: Creating, then Running, served from zcloud's cache
 * like an imported cluster, through the credentials zcloud deployed; a refused key ends
 * CreateFailed naming the host. The key never shows in answers, logs or the audit trail.
 */
describe('clusters: provisioning through the API (real host)', function () {
  this.timeout(600_000);
  let set: HostSetInfo;
  let zcloud: TestZcloud;
  let admin: string;
  let keyLine: string;

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 1 });
    keyLine = set.hosts.sshKey.split('\n')[3]!;
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

  const body = (name: string, sshKey: string) => {
    const host = set.hosts.nodes[0]!;
    return { name, nodes: [{ name: host.name, address: host.address, roles: ['controlplane', 'etcd', 'worker'] }], sshUser: set.hosts.sshUser, sshKey, singleCloudAddress: '127.0.0.1:8080' };
  };

  it('creates a 1-host cluster: Creating, then Running; nodes and namespaces served from the cache', async () => {
    const created = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: body('prov', set.hosts.sshKey) });
    expect(created.status, created.text).to.equal(201);
    expect(created.body).to.deep.include({ name: 'prov', status: 'Creating', sshUser: 'zcloud', clusterCidr: '10.42.0.0/16', singleCloudAddress: '127.0.0.1:8080' });
    expect(created.body).to.not.have.property('sshKey');
    await eventually(async () => {
      const got = await zcloud.request('GET', `${API}/clusters/prov`, { token: admin });
      expect(got.body.status, JSON.stringify(got.body)).to.equal('Running');
    }, { within: 300_000, interval: 2_000 });
    await eventually(async () => {
      const nodes = await zcloud.request('GET', `${API}/clusters/prov/nodes`, { token: admin });
      expect(nodes.status, nodes.text).to.equal(200);
      expect(nodes.body.data.map((n: { name: string }) => n.name)).to.deep.equal([set.hosts.nodes[0]!.name]);
      const namespaces = await zcloud.request('GET', `${API}/clusters/prov/namespaces`, { token: admin });
      expect(namespaces.body.data.map((n: { name: string }) => n.name)).to.include('kube-system');
    }, { within: 180_000, interval: 2_000 });
    const kubeconfig = await zcloud.request('POST', `${API}/clusters/prov?action=getkubeconfig`, { token: admin });
    expect(kubeconfig.body.config).to.include(`server: https://${set.hosts.nodes[0]!.address}:6443`);
    // Each step's duration is in /metrics, by step and outcome.
    const samples = parseExposition((await zcloud.request('GET', '/metrics', { token: admin })).text);
    for (const step of ['pki', 'connect', 'files', 'etcd', 'control-plane', 'kubelet']) {
      expect(valueOf(samples, 'zcloud_provisioning_step_duration_seconds_count', { step, outcome: 'ok' }), step).to.be.at.least(1);
    }
  });

  it('ends CreateFailed naming the host when the key is refused', async () => {
    const stranger = ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }).private;
    const created = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { ...body('wrong-key', stranger), nodes: [{ name: 'other', address: set.hosts.nodes[0]!.address, roles: ['controlplane', 'etcd', 'worker'] }] } });
    expect(created.status, created.text).to.equal(201);
    await eventually(async () => {
      const got = await zcloud.request('GET', `${API}/clusters/wrong-key`, { token: admin });
      expect(got.body.status).to.equal('CreateFailed');
      expect(got.body.message).to.equal(`other: ${set.hosts.nodes[0]!.address}:22 refused the SSH key for user zcloud`);
    }, { within: 60_000, interval: 1_000 });
    const under = await zcloud.request('GET', `${API}/clusters/wrong-key/namespaces`, { token: admin });
    expect(under.status).to.equal(503);
  });

  it('never shows the SSH key in answers, logs or the audit trail', async () => {
    const list = await zcloud.request('GET', `${API}/clusters`, { token: admin });
    const audit = await zcloud.request('GET', `${API}/auditlogs`, { token: admin });
    for (const text of [list.text, audit.text, zcloud.logs()]) {
      expect(text).not.to.include(keyLine);
      expect(text).not.to.include('PRIVATE KEY');
    }
  });

  it('DELETE removes zcloud\'s containers from the host and the record, leaving a container started by hand; a never-reached cluster is removed at once', async () => {
    const host = set.hosts.nodes[0]!;
    const connection = await connectHost({ name: host.name, address: host.address, port: host.sshPort, user: set.hosts.sshUser, privateKey: set.hosts.sshKey }, { dockerSocket: '/var/run/docker.sock', timeoutMs: 10_000 });
    try {
      const foreign = await connection.docker.createContainer({ name: 'started-by-hand', Image: imageReference('base'), Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'host' } });
      await foreign.start();
      const docker = { cluster: 'prov', host: host.name, timeoutMs: 10_000 };
      expect(await clusterContainers(connection.docker, docker)).to.include('kube-apiserver');
      const removed = await zcloud.request('DELETE', `${API}/clusters/prov`, { token: admin });
      expect(removed.status, removed.text).to.be.oneOf([200, 202, 204]);
      // Deleting until the host is clean, then gone.
      await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/prov`, { token: admin })).status).to.equal(404), { within: 120_000, interval: 500 });
      expect(await clusterContainers(connection.docker, docker)).to.deep.equal([]);
      expect((await connection.docker.getContainer('started-by-hand').inspect()).State.Running).to.equal(true);
    } finally {
      await connection.close();
    }
    const never = await zcloud.request('DELETE', `${API}/clusters/wrong-key`, { token: admin });
    expect(never.status, never.text).to.be.oneOf([200, 202, 204]);
    await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters`, { token: admin })).body.data).to.deep.equal([]), { within: 30_000, interval: 500 });
  });

  it('cancel shows Canceling, then stops a Creating run within 30 s (CreateFailed), is refused (422) once it is not Creating; PUT re-runs it to Running', async () => {
    const created = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: body('cancel-me', set.hosts.sshKey) });
    expect(created.status, created.text).to.equal(201);
    // Cancel once the run has started (its first host step is in the zkelog).
    await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/cancel-me/zkelog`, { token: admin })).text).to.match(/\[connect/), { within: 30_000, interval: 100 });
    const cancelledAt = Date.now();
    const cancel = await zcloud.request('POST', `${API}/clusters/cancel-me?action=cancel`, { token: admin });
    expect(cancel.status, cancel.text).to.equal(200);
    expect(cancel.body).to.deep.equal({ name: 'cancel-me', status: 'Canceling' });
    // Canceling until the run has stopped, then CreateFailed: no other status in between.
    const seen: string[] = [];
    await eventually(async () => {
      const got = await zcloud.request('GET', `${API}/clusters/cancel-me`, { token: admin });
      if (seen.at(-1) !== got.body.status) seen.push(got.body.status);
      expect(got.body.status).to.equal('CreateFailed');
      expect(got.body.message).to.match(/cancelled/);
    }, { within: 30_000, interval: 20 });
    expect(Date.now() - cancelledAt).to.be.lessThan(30_000);
    expect(seen.filter((status) => status !== 'Canceling')).to.deep.equal(['CreateFailed']);
    const again = await zcloud.request('POST', `${API}/clusters/cancel-me?action=cancel`, { token: admin });
    expect(again.status).to.equal(422);
    expect(again.body.message).to.match(/^status: only a Creating or Updating cluster can be cancelled; cancel-me is CreateFailed/);

    // PUT re-runs a CreateFailed cluster from its first step, its node list unchanged.
    const otherNodes = { ...body('cancel-me', set.hosts.sshKey), nodes: [{ ...body('x', '').nodes[0]!, name: 'renamed' }] };
    const refused = await zcloud.request('PUT', `${API}/clusters/cancel-me`, { token: admin, body: otherNodes });
    expect(refused.status).to.equal(422);
    expect(refused.body.message).to.match(/^nodes: must stay as created/);
    const rerun = await zcloud.request('PUT', `${API}/clusters/cancel-me`, { token: admin, body: body('cancel-me', set.hosts.sshKey) });
    expect(rerun.status, rerun.text).to.equal(200);
    expect(rerun.body.status).to.equal('Creating');
    await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/cancel-me`, { token: admin })).body.status).to.equal('Running'), { within: 240_000, interval: 1_000 });
    const running = await zcloud.request('PUT', `${API}/clusters/cancel-me`, { token: admin, body: body('cancel-me', set.hosts.sshKey) });
    expect(running.status).to.equal(422);
    expect(running.body.message).to.match(/^status: only a CreateFailed cluster can be re-run, or a Running one's node list changed; cancel-me is Running/);

    const removed = await zcloud.request('DELETE', `${API}/clusters/cancel-me`, { token: admin });
    expect(removed.status, removed.text).to.be.oneOf([200, 202, 204]);
  });
});
