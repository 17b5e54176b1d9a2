import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { clusterContainers } from '../../src/provisioning/containers.js';
import { connectHost } from '../../src/provisioning/host-connection.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { eventually } from '../helpers/world.js';
import { API, sha1, tempDir } from '../helpers/zcloud.js';
import { killStartedProcesses, startZcloudProcess, type ZcloudProcess } from '../helpers/zcloud-process.js';

const setName = 'prov-kill';
signalHostSetOnExit(setName);

interface DataFile {
  collections: {
    clusterpki?: Record<string, { ca: { certPem: string } }>;
    provisioningjournals?: Record<string, { steps: Record<string, { state: string; attempts: number }> }>;
  };
}

/** zcloud killed with SIGKILL while provisioning, then started again on the same data dir. */
describe('clusters: provisioning resumes after kill -9 (real host)', function () {
  this.timeout(600_000);
  let set: HostSetInfo;
  let zcloud: ZcloudProcess | undefined;
  const dataDir = tempDir();
  const readData = (): DataFile => JSON.parse(readFileSync(join(dataDir, 'zcloud.json'), 'utf8')) as DataFile;

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 1 });
  });

  after(async function () {
    this.timeout(120_000);
    try {
      await zcloud?.stop();
      await killStartedProcesses();
    } finally {
      await destroyHosts(setName);
    }
  });

  async function call(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${zcloud!.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
  const login = async () => (await call('POST', `${API}/users/admin?action=login`, undefined, { password: sha1('zcloud') })).body.token as string;

  it('resumes where it stopped: same CA, the PKI not issued again, no duplicate container, Running', async () => {
    const host = set.hosts.nodes[0]!;
    zcloud = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir } });
    const created = await call('POST', `${API}/clusters`, await login(), {
      name: 'kill',
      nodes: [{ name: host.name, address: host.address, roles: ['controlplane', 'etcd', 'worker'] }],
      sshUser: set.hosts.sshUser,
      sshKey: set.hosts.sshKey,
    });
    expect(created.status).to.equal(201);
    // Killed as soon as the journal records etcd done: during the control-plane step.
    await eventually(() => expect(readData().collections.provisioningjournals?.kill?.steps[`etcd/${host.name}`]?.state).to.equal('done'), { within: 120_000, interval: 50 });
    await zcloud.kill9();
    const atKill = readData();
    const caAtKill = atKill.collections.clusterpki!.kill!.ca.certPem;
    expect(atKill.collections.provisioningjournals!.kill!.steps[`kubelet/${host.name}`]?.state).to.not.equal('done');

    zcloud = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir } });
    const token = await login();
    await eventually(async () => expect((await call('GET', `${API}/clusters/kill`, token)).body.status).to.equal('Running'), { within: 240_000, interval: 1_000 });
    const after = readData();
    expect(after.collections.clusterpki!.kill!.ca.certPem).to.equal(caAtKill);
    const steps = after.collections.provisioningjournals!.kill!.steps;
    expect(steps['pki']).to.deep.include({ state: 'done', attempts: 1 });
    expect(Object.values(steps).every((s) => s.state === 'done')).to.equal(true);
    const connection = await connectHost({ name: host.name, address: host.address, port: host.sshPort, user: set.hosts.sshUser, privateKey: set.hosts.sshKey }, { dockerSocket: '/var/run/docker.sock', timeoutMs: 10_000 });
    try {
      expect(await clusterContainers(connection.docker, { cluster: 'kill', host: host.name, timeoutMs: 10_000 })).to.deep.equal(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubelet']);
    } finally {
      await connection.close();
    }
    expect((await call('DELETE', `${API}/clusters/kill`, token)).status).to.be.oneOf([200, 202, 204]);
  });
});
