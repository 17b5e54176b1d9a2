import { expect } from 'chai';
import { connectHost, type HostConnection } from '../../src/provisioning/host-connection.js';
import { imageReference } from '../../src/provisioning/images.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { eventually } from '../helpers/world.js';
import { API, sha1, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

const setName = 'op-preflight';
signalHostSetOnExit(setName);

/**
 * Pre-flight checks of the connect step and the provisioning log, on one real host: a process
 * holding 6443 ends the create CreateFailed naming host, port and holder, before anything is
 * put on the host; the log says so at `GET .../zkelog` (admin only, text lines, kept across a
 * restart); disablePortCheck skips the check; a re-run passes while the cluster's own
 * containers hold their ports.
 */
describe('provisioning: pre-flight checks and the zkelog (real host)', function () {
  this.timeout(600_000);
  let set: HostSetInfo;
  let zcloud: TestZcloud;
  let admin: string;
  let host: HostConnection;
  let dataDir: string;

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 1 });
    zcloud = await startTestZcloud();
    dataDir = zcloud.dataDir;
    admin = await zcloud.adminToken();
    const node = set.hosts.nodes[0]!;
    host = await connectHost({ name: node.name, address: node.address, port: node.sshPort, user: set.hosts.sshUser, privateKey: set.hosts.sshKey }, { dockerSocket: '/var/run/docker.sock', timeoutMs: 10_000 });
  });

  after(async function () {
    this.timeout(120_000);
    try {
      await host?.close();
      await zcloud?.close();
    } finally {
      await destroyHosts(setName);
    }
  });

  const body = (extra: Record<string, unknown> = {}) => {
    const node = set.hosts.nodes[0]!;
    return { name: 'held', nodes: [{ name: node.name, address: node.address, roles: ['controlplane', 'etcd', 'worker'] }], sshUser: set.hosts.sshUser, sshKey: set.hosts.sshKey, ...extra };
  };
  const zkelog = async (cluster = 'held', token = admin) => zcloud.request('GET', `${API}/clusters/${cluster}/zkelog`, { token });
  const statusOf = async () => (await zcloud.request('GET', `${API}/clusters/held`, { token: admin })).body as { status: string; message: string };

  it('a process listening on 6443 ends the create CreateFailed naming host, port and holder; nothing of the cluster is left on the host', async () => {
    const holder = await host.docker.createContainer({ name: 'port-holder', Image: imageReference('base'), Cmd: ['nc', '-l', '-p', '6443'], HostConfig: { NetworkMode: 'host' } });
    await holder.start();
    const created = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: body() });
    expect(created.status, created.text).to.equal(201);
    await eventually(async () => expect((await statusOf()).status).to.equal('CreateFailed'), { within: 120_000, interval: 1_000 });
    const { message } = await statusOf();
    expect(message).to.match(new RegExp(`^${set.hosts.nodes[0]!.name}: port 6443 \\(kube-apiserver\\) is in use by nc \\(pid \\d+, container port-holder\\); free it or set disablePortCheck$`));
    const labelled = await host.docker.listContainers({ all: true, filters: { label: ['zcloud.cn/cluster=held'] } });
    expect(labelled.map((c) => c.Names[0])).to.deep.equal([]);
  });

  it('GET zkelog: text lines in order, the failure among them; admin only; 404 for an unknown cluster; no secret', async () => {
    const log = await zkelog();
    expect(log.status, log.text).to.equal(200);
    expect(log.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
    const lines = log.text.trimEnd().split('\n');
    expect(lines[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[pki\] held: started$/);
    expect(lines.some((l) => /\[connect\] .*: ssh ok, Docker \S+ \(supported: >= 1\.13\.1 and < 25\.0\)/.test(l)), log.text).to.equal(true);
    expect(lines.at(-1)).to.include('[connect]').and.to.include('failed: ').and.to.include('port 6443 (kube-apiserver) is in use by nc');
    const stamps = lines.map((l) => l.split(' ')[0]!);
    expect([...stamps].sort()).to.deep.equal(stamps);
    expect(log.text).not.to.include('PRIVATE KEY');
    expect(log.text).not.to.include(set.hosts.sshKey.split('\n')[3]!);

    await zcloud.running.services.users.create({ name: 'dev', sha1Password: sha1('dev'), projects: [{ cluster: 'held', namespace: '_all' }] });
    const dev = await zcloud.login('dev', sha1('dev'));
    expect((await zkelog('held', dev)).status).to.equal(403);
    expect((await zkelog('nosuch')).status).to.equal(404);
  });

  it('keeps the log across a restart on the same data dir', async () => {
    const before = (await zkelog()).text;
    await zcloud.close();
    // Restarted with snapshots every 3 s: the composition root's schedule, checked once the cluster runs (below).
    zcloud = await startTestZcloud({ dataDir, env: { ZCLOUD_ETCD_SNAPSHOT_SCHEDULE: '*/3 * * * * *' } });
    admin = await zcloud.adminToken();
    const after = await zkelog();
    expect(after.status).to.equal(200);
    expect(after.text).to.equal(before);
  });

  it('disablePortCheck skips the check (the run goes on past connect; cancelled here); a re-run passes while the cluster holds its own ports', async () => {
    const skipped = await zcloud.request('PUT', `${API}/clusters/held`, { token: admin, body: body({ disablePortCheck: true }) });
    expect(skipped.status, skipped.text).to.equal(200);
    // Past the connect step, etcd runs; the apiserver cannot bind 6443 while nc holds it, so cancel there.
    await eventually(async () => expect((await zkelog()).text).to.match(/\[control-plane\] \S+: started/), { within: 120_000, interval: 1_000 });
    expect((await zkelog()).text).to.include('port checks skipped (disablePortCheck)');
    expect((await zcloud.request('POST', `${API}/clusters/held?action=cancel`, { token: admin })).status).to.equal(200);
    await eventually(async () => expect((await statusOf()).status).to.equal('CreateFailed'), { within: 30_000, interval: 500 });

    await host.docker.getContainer('port-holder').remove({ force: true });
    const rerun = await zcloud.request('PUT', `${API}/clusters/held`, { token: admin, body: body() });
    expect(rerun.status, rerun.text).to.equal(200);
    await eventually(async () => expect((await statusOf()).status).to.equal('Running'), { within: 240_000, interval: 1_000 });
    // etcd (2379, 2380) was left running by the cancelled run (and whatever else it got to start): its ports were recognised as the cluster's own.
    const held = /ports free but ([\d, ]+) \(held by this cluster's containers\)/.exec((await zkelog()).text);
    expect(held, 'the re-run names the ports its own containers hold').to.not.equal(null);
    expect(held![1]!.split(', ')).to.include.members(['2379', '2380']);
    // zcloud's own schedule (ZCLOUD_ETCD_SNAPSHOT_SCHEDULE) snapshots the cluster now that it runs.
    await eventually(async () => expect((await zkelog()).text).to.match(/\[etcd-snapshot\] \S+: saved \/opt\/zcloud\/etcd-snapshots\/held-\d{8}T\d{9}Z\.db; \d kept/), { within: 20_000, interval: 1_000 });
  });

  it('an imported cluster answers an empty log', async () => {
    const kubeconfig = await zcloud.request('POST', `${API}/clusters/held?action=getkubeconfig`, { token: admin });
    const imported = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { name: 'imported', kubeconfig: kubeconfig.body.config } });
    expect(imported.status, imported.text).to.equal(201);
    const log = await zkelog('imported');
    expect(log.status).to.equal(200);
    expect(log.text).to.equal('');
    expect((await zcloud.request('DELETE', `${API}/clusters/imported`, { token: admin })).status).to.equal(204);
    expect((await zcloud.request('DELETE', `${API}/clusters/held`, { token: admin })).status).to.equal(204);
  });
});
