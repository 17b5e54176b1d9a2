import { connect as tlsConnect } from 'node:tls';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { ProvisionedClusterInputSchema, type ProvisionedClusterSpec } from '../../src/clusters/provisioning-spec.js';
import { runOnce } from '../../src/provisioning/containers.js';
import { ETCD_SNAPSHOT_DIR } from '../../src/provisioning/etcd-snapshot.js';
import { connectHost, type HostConnection } from '../../src/provisioning/host-connection.js';
import { imageReference } from '../../src/provisioning/images.js';
import { ProvisioningJournalStore, provisioningJournalCollection } from '../../src/provisioning/journal-store.js';
import { ProvisioningMaintenance } from '../../src/provisioning/maintenance.js';
import { HOST_SSL_DIR } from '../../src/provisioning/node-plan.js';
import { certificateNotAfter, certificateSerial } from '../../src/provisioning/pki.js';
import { ClusterPkiStore, clusterPkiCollection } from '../../src/provisioning/pki-store.js';
import { ProvisioningLog } from '../../src/provisioning/provisioning-log.js';
import { runProvisioning } from '../../src/provisioning/provisioning-run.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { createLogger } from '../../src/logger.js';
import { openLowdbStore } from '../../src/store/lowdb-store.js';
import type { Store } from '../../src/store/store.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { eventually } from '../helpers/world.js';
import { tempDir } from '../helpers/zcloud.js';

const setName = 'op-maint';
signalHostSetOnExit(setName);
const DAY = 86_400_000;

/**
 * The scheduled work of a provisioned cluster on a real host: etcd snapshots that etcdctl
 * accepts, pruned to the retention, taken by the node-cron schedule too; and the certificate
 * check, which re-issues certificates due within 30 days (new serial, same CA) and asks for the
 * run that puts them on the host, where the apiserver then serves the new one.
 */
describe('provisioning: etcd snapshots and certificate renewal (real host)', function () {
  this.timeout(600_000);
  let set: HostSetInfo;
  let spec: ProvisionedClusterSpec;
  let store: Store;
  let journal: ProvisioningJournalStore;
  let pki: ClusterPkiStore;
  let host: HostConnection;
  const log = new ProvisioningLog();
  const rerunsRequested: string[] = [];
  const logger = createLogger({ level: 'error', stream: new PassThrough() });
  const maintenance = (overrides: Partial<ConstructorParameters<typeof ProvisioningMaintenance>[0]> = {}) =>
    new ProvisioningMaintenance({
      etcdSnapshotSchedule: '0 0 1 1 *',
      etcdSnapshotRetention: 2,
      certCheckSchedule: '0 0 1 1 *',
      runningClusters: () => [{ name: 'ops', spec }],
      journal,
      pki,
      log,
      logger,
      requestRerun: (name) => rerunsRequested.push(name),
      ...overrides,
    });
  const docker = () => ({ cluster: 'ops', host: spec.nodes[0]!.name, timeoutMs: 30_000 });
  const snapshotsOnHost = async () =>
    (await runOnce(host.docker, imageReference('base'), ['sh', '-c', `ls -1 ${ETCD_SNAPSHOT_DIR}`], docker(), { binds: [`${ETCD_SNAPSHOT_DIR}:${ETCD_SNAPSHOT_DIR}`] })).split(/\r?\n/).filter(Boolean).sort();

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 1 });
    const node = set.hosts.nodes[0]!;
    spec = ProvisionedClusterInputSchema.parse({
      nodes: [{ name: node.name, address: node.address, roles: ['controlplane', 'etcd', 'worker'] }],
      sshUser: set.hosts.sshUser,
      sshKey: set.hosts.sshKey,
    }) as ProvisionedClusterSpec;
    const dir = tempDir();
    store = await openLowdbStore({ dataDir: dir, collections: [clusterPkiCollection, provisioningJournalCollection] });
    journal = new ProvisioningJournalStore(store);
    pki = new ClusterPkiStore(store, SecretBox.forDataDir(dir));
    // Certificates issued as if 340 days ago: a year's validity leaves them 25 days, inside the 30-day window.
    await pki.ensure('ops', spec, new Date(Date.now() - 340 * DAY));
    await runProvisioning({ cluster: 'ops', spec, journal, pki, log, signal: new AbortController().signal });
    host = await connectHost({ name: node.name, address: node.address, port: node.sshPort, user: spec.sshUser, privateKey: spec.sshKey }, { dockerSocket: spec.dockerSocket, timeoutMs: 10_000 });
  });

  after(async function () {
    this.timeout(120_000);
    try {
      await host?.close();
      await store?.close();
    } finally {
      await destroyHosts(setName);
    }
  });

  it('a snapshot round saves a file on the etcd host that `etcdctl snapshot status` accepts; retention keeps the newest 2', async () => {
    const jobs = maintenance();
    const taken: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [outcome] = await jobs.snapshotAll();
      expect(outcome?.error).to.equal(undefined);
      taken.push(outcome!.result!.file);
    }
    const onHost = await snapshotsOnHost();
    expect(onHost).to.deep.equal(taken.slice(1).map((f) => f.split('/').at(-1)!).sort());
    const status = await runOnce(host.docker, imageReference('etcd'), ['etcdctl', 'snapshot', 'status', taken[2]!, '--write-out=json'], docker(), { binds: [`${ETCD_SNAPSHOT_DIR}:${ETCD_SNAPSHOT_DIR}`] });
    const parsed = JSON.parse(status.trim()) as { revision: number; totalKey: number };
    expect(parsed.revision).to.be.greaterThan(0);
    expect(parsed.totalKey).to.be.greaterThan(0);
    expect(log.lines('ops').some((l) => l.includes(`[etcd-snapshot] ${spec.nodes[0]!.name}: saved ${taken[2]}; 2 kept`)), log.lines('ops').slice(-3).join('\n')).to.equal(true);
  });

  it('the cron schedule is wired: with a schedule of every 2 seconds, new snapshots appear while it runs, and stop with it', async () => {
    const before = await snapshotsOnHost();
    const stop = new AbortController();
    const running = maintenance({ etcdSnapshotSchedule: '*/2 * * * * *' }).start(stop.signal);
    try {
      await eventually(async () => {
        const now = await snapshotsOnHost();
        expect(now.filter((f) => !before.includes(f)).length).to.be.at.least(1);
      }, { within: 20_000, interval: 1_000 });
    } finally {
      stop.abort();
      await running;
    }
    // A round cut short by the stop may leave one file beyond the retention, until the next round.
    const afterStop = await snapshotsOnHost();
    expect(afterStop.length).to.be.within(2, 3);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await snapshotsOnHost()).to.deep.equal(afterStop);
    await maintenance().snapshotAll();
    expect((await snapshotsOnHost()).length).to.equal(2);
  });

  it('renews certificates due within 30 days (new serial, same CA), asks for a run, and the run puts them on the host and restarts their readers', async () => {
    const old = (await pki.get('ops'))!;
    const oldSerial = certificateSerial(old.certificates['kube-apiserver']!.certPem);
    expect(certificateNotAfter(old.certificates['kube-apiserver']!.certPem).getTime()).to.be.lessThan(Date.now() + 30 * DAY);
    const renewed = await maintenance().renewCertificates();
    expect(renewed.ops).to.include.members(['kube-apiserver', 'kube-admin', `etcd-${spec.nodes[0]!.name}`]);
    expect(rerunsRequested).to.deep.equal(['ops']);
    const now = (await pki.get('ops'))!;
    const newSerial = certificateSerial(now.certificates['kube-apiserver']!.certPem);
    expect(newSerial).to.not.equal(oldSerial);
    expect(now.ca.certPem).to.equal(old.ca.certPem);
    expect(certificateNotAfter(now.certificates['kube-apiserver']!.certPem).getTime()).to.be.greaterThan(Date.now() + 300 * DAY);
    // Nothing due any more: a second check renews nothing.
    expect(await maintenance().renewCertificates()).to.deep.equal({});

    // The run the check asked for (what the provisioning controller does with the key once Running clusters take updates).
    await journal.newGeneration('ops');
    await runProvisioning({ cluster: 'ops', spec, journal, pki, log, signal: new AbortController().signal });
    const onHost = await runOnce(host.docker, imageReference('base'), ['cat', `${HOST_SSL_DIR}/kube-apiserver.crt`], docker(), { binds: [`${HOST_SSL_DIR}:${HOST_SSL_DIR}:ro`] });
    expect(onHost.replace(/\r/g, '').trim()).to.equal(now.certificates['kube-apiserver']!.certPem.trim());
    // The apiserver was recreated with the new files and serves the new certificate.
    const served = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: spec.nodes[0]!.address, port: 6443, rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate().serialNumber.toUpperCase());
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(served.replace(/^0+/, '')).to.equal(newSerial.replace(/^0+/, ''));
  });
});
