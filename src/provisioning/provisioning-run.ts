import { request } from 'node:https';
import type { ProvisionedClusterSpec, ProvisionedNode } from '../clusters/provisioning-spec.js';
import { ensureContainer, withFilesHash, writeHostFiles, type ContainerSpec, type DockerCallOptions } from './containers.js';
import { CancelledError, withDeadline } from './deadline.js';
import { connectHost, HostError, type HostConnection } from './host-connection.js';
import { observeHostFacts } from './host-facts.js';
import { imageReference } from './images.js';
import { DOCKER_CERTS_DIR, ensureImage, KUBELET_DIR, registryHostFiles, type PrivateRegistry } from './registries.js';
import { checkPorts, dockerVersionProblem, SUPPORTED_DOCKER_TEXT } from './preflight.js';
import type { ProvisioningJournalStore } from './journal-store.js';
import { APISERVER_PORT, controlPlaneContainers, etcdContainer, hostFiles, KUBE_DIR, kubeletContainer } from './node-plan.js';
import type { ClusterPki } from './pki.js';
import type { ClusterPkiStore } from './pki-store.js';
import type { ProvisioningLog } from './provisioning-log.js';
import { nextStep, stepId, type StepRef } from './step-plan.js';

export interface ProvisioningRunOptions {
  cluster: string;
  spec: ProvisionedClusterSpec;
  journal: ProvisioningJournalStore;
  pki: ClusterPkiStore;
  log: ProvisioningLog;
  signal: AbortSignal;
  /** Bound of each remote call (SSH handshake, one Docker call). */
  callTimeoutMs?: number;
  /** Bound of waiting for the apiserver to answer, or for a node to turn Ready. */
  readyTimeoutMs?: number;
  /** Told how long each step took and how it ended (metrics). */
  onStepFinished?: (step: StepRef['kind'], outcome: 'ok' | 'error', seconds: number) => void;
}

/**
 * Runs the steps the journal does not record as done, in plan order, each journalled before and
 * after (so a kill resumes at the step in flight), until the plan is complete. A failed step
 * is journalled with its error and ends the run with a HostError naming the host and cause;
 * nothing is retried here: the caller decides (CreateFailed, a re-run by PUT).
 */
export async function runProvisioning(options: ProvisioningRunOptions): Promise<void> {
  const { cluster, spec, journal, log, signal } = options;
  const callTimeoutMs = options.callTimeoutMs ?? 60_000;
  const connections = new Map<string, HostConnection>();
  let pki: ClusterPki | undefined;
  const nodeNamed = (name: string): ProvisionedNode => spec.nodes.find((n) => n.name === name)!;
  const dockerOptions = (host: string): DockerCallOptions => ({ cluster, host, timeoutMs: callTimeoutMs, signal });

  const connection = async (node: ProvisionedNode): Promise<HostConnection> => {
    const open = connections.get(node.name);
    if (open) return open;
    const pinned = (await journal.current(cluster)).hostKeys[node.name];
    const connected = await connectHost(
      { name: node.name, address: node.address, port: spec.sshPort, user: spec.sshUser, privateKey: spec.sshKey, pinnedHostKey: pinned },
      { dockerSocket: spec.dockerSocket, timeoutMs: callTimeoutMs, signal },
    );
    connections.set(node.name, connected);
    if (pinned === undefined) {
      await journal.pinHostKey(cluster, node.name, connected.hostKey);
      log.append(cluster, `[connect] ${node.name}: host key ${connected.hostKey} trusted on first use and pinned`);
    }
    return connected;
  };
  const clusterPki = async (): Promise<ClusterPki> => (pki ??= await options.pki.ensure(cluster, spec));
  const registryPassword = (registry: PrivateRegistry) => options.pki.registryPassword(cluster, registry);
  const ensure = async (node: ProvisionedNode, container: ContainerSpec) => {
    const { docker } = await connection(node);
    const image = await ensureImage(docker, container.image, spec.privateRegistries, registryPassword, dockerOptions(node.name));
    if (image === 'pulled') log.append(cluster, `[${container.name}] ${node.name}: pulled ${container.image}`);
    const files = hostFiles(cluster, spec, await clusterPki(), node);
    const outcome = await ensureContainer(docker, withFilesHash(container, files), dockerOptions(node.name));
    log.append(cluster, `[${container.name}] ${node.name}: container ${container.name} ${outcome}`);
  };

  const steps: Record<StepRef['kind'], (node: ProvisionedNode) => Promise<void>> = {
    pki: async () => {
      const ensured = await clusterPki();
      log.append(cluster, `[pki] ${Object.keys(ensured.certificates).length} certificates stored (private keys sealed)`);
    },
    // Pre-flight: nothing is changed on any host before every host passed (preflight.ts).
    connect: async (node) => {
      const connected = await connection(node);
      const version = await connected.dockerVersion();
      const versionProblem = dockerVersionProblem(version);
      if (versionProblem && !spec.ignoreDockerVersion) throw new Error(versionProblem);
      const versionNote = versionProblem ? `outside ${SUPPORTED_DOCKER_TEXT}, accepted by ignoreDockerVersion` : `supported: ${SUPPORTED_DOCKER_TEXT}`;
      log.append(cluster, `[connect] ${node.name}: ssh ok, Docker ${version} (${versionNote}) on ${spec.dockerSocket}`);
      if (spec.disablePortCheck) log.append(cluster, `[connect] ${node.name}: port checks skipped (disablePortCheck)`);
      else log.append(cluster, `[connect] ${node.name}: ${await checkPorts(connected.docker, node, dockerOptions(node.name))}`);
    },
    files: async (node) => {
      const files = hostFiles(cluster, spec, await clusterPki(), node);
      const { docker } = await connection(node);
      await writeHostFiles(docker, imageReference('base'), KUBE_DIR, files, dockerOptions(node.name));
      log.append(cluster, `[files] ${node.name}: ${files.length} files under ${KUBE_DIR}/ssl`);
      const registry = registryHostFiles(spec.privateRegistries, registryPassword);
      if (registry.dockerCerts.length > 0) {
        await writeHostFiles(docker, imageReference('base'), DOCKER_CERTS_DIR, registry.dockerCerts, dockerOptions(node.name));
        log.append(cluster, `[files] ${node.name}: ${registry.dockerCerts.map((f) => f.path).join(', ')}`);
      }
      if (registry.kubelet.length > 0) {
        await writeHostFiles(docker, imageReference('base'), KUBELET_DIR, registry.kubelet, dockerOptions(node.name));
        log.append(cluster, `[files] ${node.name}: registry credentials for the kubelet in ${KUBELET_DIR}/config.json`);
      }
    },
    etcd: (node) => ensure(node, etcdContainer(spec, node)),
    'control-plane': async (node) => {
      for (const container of controlPlaneContainers(spec, node)) await ensure(node, container);
      // The apiserver's readiness covers its etcd: it answers /readyz only with etcd reachable.
      const credentials = await clusterPki();
      await waitFor(`kube-apiserver on ${node.name} to answer /readyz`, options.readyTimeoutMs ?? 180_000, signal, () => apiserverReady(node.address, credentials));
      log.append(cluster, `[kube-apiserver] ${node.name}: ready`);
    },
    kubelet: async (node) => {
      const facts = await observeHostFacts((await connection(node)).docker, dockerOptions(node.name));
      await ensure(node, kubeletContainer(spec, node, facts));
    },
  };

  try {
    for (let step = nextStep(spec, await journal.current(cluster)); step; step = nextStep(spec, await journal.current(cluster))) {
      if (signal.aborted) throw new CancelledError(`${stepId(step)}: cancelled`);
      await journal.stepStarted(cluster, step);
      log.append(cluster, `[${step.kind}] ${step.host ?? cluster}: started`);
      const began = process.hrtime.bigint();
      const took = (): number => Number(process.hrtime.bigint() - began) / 1e9;
      try {
        await steps[step.kind](step.host ? nodeNamed(step.host) : spec.nodes[0]!);
        options.onStepFinished?.(step.kind, 'ok', took());
      } catch (err) {
        options.onStepFinished?.(step.kind, 'error', took());
        const message = err instanceof HostError || !step.host ? (err as Error).message : `${step.host}: ${(err as Error).message}`;
        await journal.stepFinished(cluster, step, message);
        log.append(cluster, `[${step.kind}] ${step.host ?? cluster}: failed: ${message}`);
        throw err instanceof HostError || !step.host ? err : new HostError(step.host, (err as Error).message, { cause: err });
      }
      await journal.stepFinished(cluster, step);
    }
    log.append(cluster, 'provisioning complete');
  } finally {
    await Promise.all([...connections.values()].map((c) => c.close()));
  }
}

/** Polls `check` every second until it resolves true, within `timeoutMs`; cancel ends it at once. */
async function waitFor(what: string, timeoutMs: number, signal: AbortSignal, check: () => Promise<boolean>): Promise<void> {
  let gaveUp = false;
  const poll = async () => {
    while (!gaveUp && !signal.aborted) {
      if (await check().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  };
  await withDeadline(`waiting for ${what}`, poll(), timeoutMs, signal, () => (gaveUp = true));
}

/** GET /readyz of the apiserver at `address`, with zcloud's admin certificate and the cluster CA. */
function apiserverReady(address: string, pki: ClusterPki): Promise<boolean> {
  const admin = pki.certificates['kube-admin']!;
  return new Promise((resolve) => {
    const probe = request(
      { host: address, port: APISERVER_PORT, path: '/readyz', ca: pki.ca.certPem, cert: admin.certPem, key: admin.keyPem, timeout: 5_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    probe.on('timeout', () => probe.destroy());
    probe.on('error', () => resolve(false));
    probe.end();
  });
}
