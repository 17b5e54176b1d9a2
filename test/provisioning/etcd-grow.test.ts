import { expect } from 'chai';
import { execIn } from '../../src/provisioning/containers.js';
import { parseMemberList } from '../../src/provisioning/etcd-membership.js';
import { etcdctlCommand } from '../../src/provisioning/node-plan.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { onHost, type TestHost } from '../helpers/provisioned-hosts.js';
import { eventually } from '../helpers/world.js';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

const setName = 'pg-etcd';
signalHostSetOnExit(setName);

type Host = TestHost;

/**
 * A PUT that adds etcd nodes to a running cluster: each is `member add`ed and started
 * `existing`, one at a time and health-checked; the first member's container is left as it was;
 * the apiserver is pointed at every member; the cluster keeps Running and serving.
 */
describe('clusters: adding etcd members in an update (real hosts)', function () {
  this.timeout(900_000);
  let set: HostSetInfo;
  let zcloud: TestZcloud;
  let admin: string;
  let first: Host, second: Host, third: Host;

  const node = (host: Host, roles: string[]) => ({ name: host.name, address: host.address, roles });
  const body = (nodes: ReturnType<typeof node>[]) => ({ name: 'pg-etcd', nodes, sshUser: set.hosts.sshUser, sshKey: set.hosts.sshKey });
  const status = async () => (await zcloud.request('GET', `${API}/clusters/pg-etcd`, { token: admin })).body;

  const etcdctl = (host: Host, args: string[]) => onHost(set, host, (c) => execIn(c.docker, 'etcd', etcdctlCommand(node(host, ['etcd']) as never, args), { cluster: 'pg-etcd', host: host.name, timeoutMs: 20_000 }));

  before(async function () {
    this.timeout(600_000);
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 3 });
    [first, second, third] = set.hosts.nodes as [Host, Host, Host];
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

  it('grows 1 etcd member to 3: all started and healthy, the first container kept, the apiserver on all three, the cluster Running and serving', async () => {
    const created = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: body([node(first, ['controlplane', 'etcd', 'worker'])]) });
    expect(created.status, created.text).to.equal(201);
    await eventually(async () => expect((await status()).status).to.equal('Running'), { within: 300_000, interval: 1_000 });
    const firstEtcd = await onHost(set, first, async (c) => (await c.docker.getContainer('etcd').inspect()).Id);

    const grown = [node(first, ['controlplane', 'etcd', 'worker']), node(second, ['etcd', 'worker']), node(third, ['etcd'])];
    const put = await zcloud.request('PUT', `${API}/clusters/pg-etcd`, { token: admin, body: body(grown) });
    expect(put.status, put.text).to.equal(200);
    expect(put.body.status).to.equal('Updating');
    await eventually(async () => {
      const got = await status();
      expect(got.status, JSON.stringify(got)).to.equal('Running');
    }, { within: 600_000, interval: 1_000 });
    expect((await status()).message).to.equal('');

    const members = parseMemberList(await etcdctl(first, ['member', 'list']));
    expect(members.map((m) => m.name).sort()).to.deep.equal([`etcd-${first.name}`, `etcd-${second.name}`, `etcd-${third.name}`].sort());
    const endpoints = [first, second, third].map((h) => `https://${h.address}:2379`).join(',');
    const health = await etcdctl(first, [`--endpoints=${endpoints}`, 'endpoint', 'health']);
    for (const host of [first, second, third]) expect(health).to.match(new RegExp(`https://${host.address.replaceAll('.', '\\.')}:2379 is healthy`));
    // The first member was not recreated for the new membership; the apiserver now knows every member.
    expect(await onHost(set, first, async (c) => (await c.docker.getContainer('etcd').inspect()).Id)).to.equal(firstEtcd);
    const apiserverCmd = await onHost(set, first, async (c) => (await c.docker.getContainer('kube-apiserver').inspect()).Config.Cmd ?? []);
    expect(apiserverCmd).to.include(`--etcd-servers=${endpoints}`);
    const joined = await onHost(set, third, async (c) => (await c.docker.getContainer('etcd').inspect()).Config.Cmd ?? []);
    expect(joined).to.include('--initial-cluster-state=existing');

    // Served from zcloud's cache: the three nodes, all Ready.
    await eventually(async () => {
      const nodes = await zcloud.request('GET', `${API}/clusters/pg-etcd/nodes`, { token: admin });
      expect(nodes.status, nodes.text).to.equal(200);
      expect(nodes.body.data.map((n: { name: string }) => n.name).sort()).to.deep.equal([first.name, second.name, third.name].sort());
    }, { within: 120_000, interval: 2_000 });
  });

  it('a member removed and added again is added anew and joins healthy', async () => {
    const grown = [node(first, ['controlplane', 'etcd', 'worker']), node(second, ['etcd', 'worker']), node(third, ['etcd'])];
    const waitRunning = () => eventually(async () => {
      const got = await status();
      expect(got.status, JSON.stringify(got)).to.equal('Running');
      expect(got.message).to.equal('');
    }, { within: 600_000, interval: 1_000 });
    const shrink = await zcloud.request('PUT', `${API}/clusters/pg-etcd`, { token: admin, body: body(grown.slice(0, 2)) });
    expect(shrink.status, shrink.text).to.equal(200);
    await waitRunning();
    expect(parseMemberList(await etcdctl(first, ['member', 'list'])).map((m) => m.name).sort()).to.deep.equal([`etcd-${first.name}`, `etcd-${second.name}`].sort());
    const regrow = await zcloud.request('PUT', `${API}/clusters/pg-etcd`, { token: admin, body: body(grown) });
    expect(regrow.status, regrow.text).to.equal(200);
    await waitRunning();
    const members = parseMemberList(await etcdctl(first, ['member', 'list']));
    expect(members.map((m) => m.name).sort()).to.deep.equal([`etcd-${first.name}`, `etcd-${second.name}`, `etcd-${third.name}`].sort());
    const endpoints = [first, second, third].map((h) => `https://${h.address}:2379`).join(',');
    const health = await etcdctl(first, [`--endpoints=${endpoints}`, 'endpoint', 'health']);
    for (const host of [first, second, third]) expect(health).to.match(new RegExp(`https://${host.address.replaceAll('.', '\\.')}:2379 is healthy`));
  });
});
