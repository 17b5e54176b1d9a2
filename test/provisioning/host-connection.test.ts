import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { connectHost, type HostConnection, type HostTarget } from '../../src/provisioning/host-connection.js';
import { imageReference } from '../../src/provisioning/images.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';

/** Host set of this file; short, since it prefixes interface and namespace names. */
const setName = 'prov-conn';

// Should mocha exit before `after` runs, the set's daemons still get SIGTERM (by pid).
signalHostSetOnExit(setName);

/** How a provisioning run reaches a host: SSH with a pinned host key, Docker through it. */
describe('provisioning: host connection (real hosts)', function () {
  this.timeout(300_000);
  let set: HostSetInfo;
  let target: HostTarget;
  const open: HostConnection[] = [];

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 1 });
    const node = set.hosts.nodes[0]!;
    target = { name: node.name, address: node.address, port: node.sshPort, user: set.hosts.sshUser, privateKey: set.hosts.sshKey };
  });

  after(async function () {
    this.timeout(120_000);
    try {
      await Promise.all(open.map((c) => c.close()));
    } finally {
      await destroyHosts(setName);
    }
  });

  async function connect(overrides: Partial<HostTarget> = {}, dockerSocket = set.hosts.dockerSocket): Promise<HostConnection> {
    const connection = await connectHost({ ...target, ...overrides }, { dockerSocket, timeoutMs: 10_000 });
    open.push(connection);
    return connection;
  }

  async function failure(work: Promise<unknown>): Promise<string> {
    try {
      await work;
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('succeeded');
  }

  it('trusts the host key on first use, then connects with it pinned and reaches Docker through the session', async () => {
    const first = await connect();
    expect(first.hostKey).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const pinned = await connect({ pinnedHostKey: first.hostKey });
    expect(pinned.hostKey).to.equal(first.hostKey);
    expect(await pinned.dockerVersion()).to.match(/^\d+\.\d+/);
    const images = await pinned.docker.listImages();
    expect(images.flatMap((i) => i.RepoTags ?? [])).to.include(imageReference('base'));
  });

  it('refuses a host whose key differs from the pinned one, naming the host and both keys', async () => {
    const message = await failure(connect({ pinnedHostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }));
    expect(message).to.match(new RegExp(`^${target.name}: host key of ${target.address}:22 changed: pinned SHA256:A+, offered SHA256:`));
  });

  it('names the host and the cause for a refused key, a closed port and a missing Docker socket', async () => {
    // PKCS#1 from node:crypto: ssh2's own ed25519 generator now and then writes a key its parser refuses.
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
    expect(await failure(connect({ privateKey: stranger }))).to.equal(`${target.name}: ${target.address}:22 refused the SSH key for user zcloud`);
    expect(await failure(connect({ port: 2222 }))).to.equal(`${target.name}: nothing listens for SSH on ${target.address}:2222 (connection refused)`);
    const noDocker = await connect({}, '/var/run/no-docker.sock');
    expect(await failure(noDocker.dockerVersion())).to.match(new RegExp(`^${target.name}: Docker does not answer on /var/run/no-docker.sock: the host refused to forward /var/run/no-docker.sock `));
  });

  it('gives up on a host that does not answer within the deadline, and at once when cancelled', async () => {
    // An address of the set's own subnet that no host holds: SYNs go unanswered.
    const silent = target.address.replace(/\.\d+$/, '.250');
    const started = Date.now();
    const timedOut = await failure(connectHost({ ...target, address: silent }, { dockerSocket: '/var/run/docker.sock', timeoutMs: 2_000 }));
    expect(timedOut).to.match(new RegExp(`^${target.name}: (no SSH answer from|${silent.replace(/\./g, '\\.')}:22 is unreachable)`));
    expect(Date.now() - started).to.be.lessThan(8_000);
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 200);
    const cancelledAt = Date.now();
    const cancelled = await failure(connectHost({ ...target, address: silent }, { dockerSocket: '/var/run/docker.sock', timeoutMs: 60_000, signal: cancel.signal }));
    expect(cancelled).to.match(/cancelled/);
    expect(Date.now() - cancelledAt).to.be.lessThan(2_000);
  });
});
