import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { ProvisionedClusterInputSchema, type ProvisionedClusterSpec } from '../../src/clusters/provisioning-spec.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { clusterContainers, removeClusterFromHost } from '../../src/provisioning/containers.js';
import { imageReference } from '../../src/provisioning/images.js';
import { zcloudHostPaths } from '../../src/provisioning/host-cleanup.js';
import { hostSetLayout } from '../../scripts/testenv/hosts/layout.js';
import { connectHost } from '../../src/provisioning/host-connection.js';
import { ProvisioningJournalStore, provisioningJournalCollection } from '../../src/provisioning/journal-store.js';
import { adminKubeconfig } from '../../src/provisioning/kubeconfig.js';
import { certificateFingerprint } from '../../src/provisioning/pki.js';
import { ClusterPkiStore, clusterPkiCollection } from '../../src/provisioning/pki-store.js';
import { ProvisioningLog } from '../../src/provisioning/provisioning-log.js';
import { runProvisioning } from '../../src/provisioning/provisioning-run.js';
import { addonObjects } from '../../src/provisioning/addons.js';
import { FIELD_MANAGER, manifestPath } from '../../src/provisioning/cluster-apply.js';
import { nodeLabelObject, rbacObjects } from '../../src/provisioning/cluster-objects.js';
import { KubeHttp } from '../../src/kube/kube-http.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { planSteps, stepId } from '../../src/provisioning/step-plan.js';
import { openLowdbStore } from '../../src/store/lowdb-store.js';
import type { Store } from '../../src/store/store.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { eventually } from '../helpers/world.js';
import { tempDir } from '../helpers/zcloud.js';

const setName = 'prov-run';
signalHostSetOnExit(setName);

/**
 * A whole provisioning run on two real hosts (controlplane+etcd+worker, worker), journalled in
 * a real store: both nodes Ready through zcloud's credentials; a run stopped mid-way resumes
 * with the same CA and no duplicate container; a changed host key fails naming the host; the
 * cleanup DELETE will use removes only zcloud's containers and files.
 */
describe('provisioning: a journalled run on two real hosts', function () {
  this.timeout(600_000);
  let set: HostSetInfo;
  let spec: ProvisionedClusterSpec;
  let store: Store;
  let journal: ProvisioningJournalStore;
  let pkiStore: ClusterPkiStore;
  const log = new ProvisioningLog();

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 2 });
    const [first, second] = set.hosts.nodes as [HostSetInfo['hosts']['nodes'][number], HostSetInfo['hosts']['nodes'][number]];
    spec = ProvisionedClusterInputSchema.parse({
      nodes: [
        { name: first.name, address: first.address, roles: ['controlplane', 'etcd', 'worker'] },
        { name: second.name, address: second.address, roles: ['worker'] },
      ],
      sshUser: set.hosts.sshUser,
      sshKey: set.hosts.sshKey,
    }) as ProvisionedClusterSpec;
    const dir = tempDir();
    store = await openLowdbStore({ dataDir: dir, collections: [clusterPkiCollection, provisioningJournalCollection] });
    journal = new ProvisioningJournalStore(store);
    pkiStore = new ClusterPkiStore(store, SecretBox.forDataDir(dir));
  });

  after(async function () {
    this.timeout(120_000);
    try {
      await store?.close();
    } finally {
      await destroyHosts(setName);
    }
  });

  const run = (signal = new AbortController().signal) => runProvisioning({ cluster: 'prov', spec, journal, pki: pkiStore, log, signal, callTimeoutMs: 60_000 });

  async function adminCore(): Promise<CoreV1Api> {
    const pki = (await pkiStore.get('prov'))!;
    const kc = new KubeConfig();
    kc.loadFromString(adminKubeconfig('prov', `https://${spec.nodes[0]!.address}:6443`, pki));
    return kc.makeApiClient(CoreV1Api);
  }

  /** When zcloud last applied each object it owns (its managedFields entry): a no-op re-run leaves every one as it was. */
  async function zcloudApplyTimes(): Promise<Record<string, string | undefined>> {
    const pki = (await pkiStore.get('prov'))!;
    const api = KubeHttp.fromYaml(adminKubeconfig('prov', `https://${spec.nodes[0]!.address}:6443`, pki));
    try {
      const times: Record<string, string | undefined> = {};
      for (const object of [...rbacObjects(), ...spec.nodes.map(nodeLabelObject), ...addonObjects(spec)]) {
        const path = manifestPath(object);
        const got = await api.request<{ metadata: { managedFields?: { manager: string; operation: string; time?: string }[] } }>('GET', path);
        times[path] = got.metadata.managedFields?.find((f) => f.manager === FIELD_MANAGER && f.operation === 'Apply')?.time;
      }
      return times;
    } finally {
      api.close();
    }
  }

  async function containersByHost(): Promise<string[][]> {
    const result: string[][] = [];
    for (const node of set.hosts.nodes) {
      const c = await connectHost({ name: node.name, address: node.address, port: node.sshPort, user: spec.sshUser, privateKey: spec.sshKey }, { dockerSocket: spec.dockerSocket, timeoutMs: 10_000 });
      try {
        result.push(await clusterContainers(c.docker, { cluster: 'prov', host: node.name, timeoutMs: 10_000 }));
      } finally {
        await c.close();
      }
    }
    return result;
  }

  it('runs every step to the end: both hosts Ready nodes, every step journalled done, host keys pinned', async () => {
    await run();
    const recorded = (await journal.get('prov'))!;
    expect(Object.keys(recorded.steps)).to.have.members(planSteps(spec).map(stepId));
    expect(Object.values(recorded.steps).every((s) => s.state === 'done' && s.attempts === 1)).to.equal(true);
    expect(Object.keys(recorded.hostKeys)).to.have.members(spec.nodes.map((n) => n.name));
    const core = await adminCore();
    await eventually(async () => {
      const nodes = await core.listNode();
      const ready = nodes.items.filter((n) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True').map((n) => n.metadata?.name);
      expect(ready).to.have.members(spec.nodes.map((n) => n.name));
    }, { within: 240_000, interval: 2_000 });
    expect(await containersByHost()).to.deep.equal([['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubelet'], ['apiserver-proxy', 'kube-proxy', 'kubelet']]);
    expect(log.lines('prov').join('\n')).not.to.include('PRIVATE KEY');
    // The cluster's own objects: role labels on both nodes, CoreDNS on the DNS IP, flannel's network.
    const labels = (await core.listNode()).items.map((n) => Object.keys(n.metadata?.labels ?? {}).filter((l) => l.startsWith('node-role.kubernetes.io/')).sort());
    expect(labels).to.deep.equal([['node-role.kubernetes.io/controlplane', 'node-role.kubernetes.io/etcd', 'node-role.kubernetes.io/worker'], ['node-role.kubernetes.io/worker']]);
    expect((await core.readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' })).spec?.clusterIP).to.equal(spec.clusterDNSServiceIP);
    expect(Object.values(await zcloudApplyTimes()).every((time) => typeof time === 'string')).to.equal(true);
  });

  it('resumes a run stopped during the control-plane step with the same CA and no duplicate container; a new generation changes nothing', async () => {
    const caBefore = certificateFingerprint((await pkiStore.get('prov'))!.ca.certPem);
    const appliedBefore = await zcloudApplyTimes();
    await journal.newGeneration('prov');
    const stop = new AbortController();
    // Stopped synchronously as the control-plane step starts: its first remote call finds the signal aborted.
    const stoppingLog = new (class extends ProvisioningLog {
      override append(cluster: string, message: string): void {
        super.append(cluster, message);
        if (message.startsWith('[control-plane]') && message.endsWith('started')) stop.abort();
      }
    })();
    let stopped: Error | undefined;
    await runProvisioning({ cluster: 'prov', spec, journal, pki: pkiStore, log: stoppingLog, signal: stop.signal }).catch((err: Error) => (stopped = err));
    expect(stopped?.message).to.match(/cancelled/);
    const interrupted = (await journal.get('prov'))!;
    expect(interrupted.steps[`control-plane/${spec.nodes[0]!.name}`]).to.deep.include({ state: 'failed', attempts: 1 });
    expect(interrupted.steps[`kubelet/${spec.nodes[1]!.name}`]).to.equal(undefined);

    const linesBefore = log.lines('prov').length;
    await run();
    const resumed = (await journal.get('prov'))!;
    expect(Object.values(resumed.steps).every((s) => s.state === 'done')).to.equal(true);
    expect(resumed.steps['pki']?.attempts).to.equal(1);
    expect(resumed.steps[`control-plane/${spec.nodes[0]!.name}`]?.attempts).to.equal(2);
    expect(certificateFingerprint((await pkiStore.get('prov'))!.ca.certPem)).to.equal(caBefore);
    const outcomes = log.lines('prov').slice(linesBefore).filter((line) => / container \S+ (created|recreated|started|unchanged)$/.test(line));
    expect(outcomes.length).to.be.greaterThan(0);
    for (const line of outcomes) expect(line).to.match(/unchanged$/);
    expect(await zcloudApplyTimes()).to.deep.equal(appliedBefore);
    expect(await containersByHost()).to.deep.equal([['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubelet'], ['apiserver-proxy', 'kube-proxy', 'kubelet']]);
  });

  it('fails, naming the host, when a host offers a key other than the pinned one', async () => {
    const second = spec.nodes[1]!.name;
    await journal.pinHostKey('prov', second, 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    await journal.newGeneration('prov');
    let failed: Error | undefined;
    await run().catch((err: Error) => (failed = err));
    expect(failed?.message).to.match(new RegExp(`^${second}: host key of .* changed: pinned SHA256:A+, offered SHA256:`));
    expect((await journal.get('prov'))!.steps[`connect/${second}`]).to.deep.include({ state: 'failed', lastError: failed!.message });
  });

  it('removes only what zcloud put on the hosts: labelled containers and its files; a container started by hand survives', async () => {
    const hand = set.hosts.nodes[1]!;
    const c = await connectHost({ name: hand.name, address: hand.address, port: hand.sshPort, user: spec.sshUser, privateKey: spec.sshKey }, { dockerSocket: spec.dockerSocket, timeoutMs: 10_000 });
    try {
      const foreign = await c.docker.createContainer({ name: 'started-by-hand', Image: imageReference('base'), Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'host' } });
      await foreign.start();
    } finally {
      await c.close();
    }
    const removed: string[][] = [];
    for (const node of set.hosts.nodes) {
      const connection = await connectHost({ name: node.name, address: node.address, port: node.sshPort, user: spec.sshUser, privateKey: spec.sshKey }, { dockerSocket: spec.dockerSocket, timeoutMs: 10_000 });
      try {
        removed.push(await removeClusterFromHost(connection.docker, imageReference('base'), zcloudHostPaths('prov', spec), { cluster: 'prov', host: node.name, timeoutMs: 60_000 }));
        if (node.name === hand.name) {
          const survivor = await connection.docker.getContainer('started-by-hand').inspect();
          expect(survivor.State.Running).to.equal(true);
        }
      } finally {
        await connection.close();
      }
      // The host's /etc/kubernetes, as seen from this machine (a bind mount inside the host).
      const etcKubernetes = join(hostSetLayout(setName).host(node.name).dir, 'fs', 'etc-kubernetes');
      expect(existsSync(etcKubernetes)).to.equal(true);
      expect(existsSync(join(etcKubernetes, 'ssl'))).to.equal(false);
    }
    // Besides zcloud's own, the pod containers the kubelet made (dockershim's k8s_*: add-on pods' sandboxes, when it got to them) went too.
    const zcloudMade = removed.map((names) => names.filter((name) => !name.startsWith('k8s_')));
    expect(zcloudMade).to.deep.equal([['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubelet'], ['apiserver-proxy', 'kube-proxy', 'kubelet']]);
    expect(await containersByHost()).to.deep.equal([[], []]);
  });
});
