import { request } from 'node:https';
import type { ProvisionedClusterSpec, ProvisionedNode } from '../clusters/provisioning-spec.js';
import { ensureContainer, withFilesHash, writeHostFiles, type ContainerSpec, type DockerCallOptions } from './containers.js';
import { CancelledError, withDeadline } from './deadline.js';
import { etcdJoin, joinAddresses } from './etcd-membership.js';
import { connectHost, HostError, type HostConnection } from './host-connection.js';
import { observeHostFacts } from './host-facts.js';
import { imageReference } from './images.js';
import { DOCKER_CERTS_DIR, ensureImage, KUBELET_DIR, registryHostFiles, type PrivateRegistry } from './registries.js';
import { checkPorts, dockerVersionProblem, SUPPORTED_DOCKER_TEXT } from './preflight.js';
import type { ProvisioningJournalStore } from './journal-store.js';
import { KubeHttp } from '../kube/kube-http.js';
import { addonObjects } from './addons.js';
import { applyObject } from './cluster-apply.js';
import { nodeLabelObject, nodeRoleTaints, rbacObjects, withTaints, type Taint } from './cluster-objects.js';
import { adminKubeconfig } from './kubeconfig.js';
import { APISERVER_PORT, apiserverProxyContainer, controlPlaneContainers, etcdContainer, hasRole, hostFiles, KUBE_DIR, kubeletContainer, kubeProxyContainer } from './node-plan.js';
import type { ClusterPki } from './pki.js';
import type { ClusterPkiStore } from './pki-store.js';
import type { ProvisioningLog } from './provisioning-log.js';
import { ensurePodNetwork, type PodNetworkNode } from './pod-network.js';
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
    etcd: async (node) => {
      const current = await journal.current(cluster);
      const join = await etcdJoin({ spec, recorded: current.etcdJoins, formed: current.etcdFormed, connection, dockerOptions, log: (line) => log.append(cluster, line) }, node);
      await journal.recordEtcdJoin(cluster, node.name, join);
      await ensure(node, etcdContainer(spec, node, join));
      const credentials = await clusterPki();
      const healthy = async (addresses: string[]) => {
        for (const address of addresses) await waitFor(`etcd on ${address} to report healthy`, options.readyTimeoutMs ?? 180_000, signal, () => etcdHealthy(address, credentials));
      };
      // A member added to a running cluster: every member healthy before the next one is added.
      if (join.state === 'existing') {
        await healthy(joinAddresses(join));
        await journal.etcdFormed(cluster);
        log.append(cluster, `[etcd] ${node.name}: joined; ${joinAddresses(join).length} member(s) healthy`);
        return;
      }
      // The members of a new cluster start one per step. A member without a quorum serves no
      // client at all (etcd answers clients only once it has joined), so only the last step
      // waits: for every member to report healthy.
      const members = spec.nodes.filter((n) => hasRole(n, 'etcd'));
      if (members.at(-1)!.name !== node.name) {
        log.append(cluster, `[etcd] ${node.name}: started, waiting for the other members`);
        return;
      }
      await healthy(members.map((m) => m.address));
      await journal.etcdFormed(cluster);
      log.append(cluster, `[etcd] ${node.name}: ${members.length} member(s) healthy`);
    },
    'control-plane': async (node) => {
      for (const container of controlPlaneContainers(spec, node)) await ensure(node, container);
      // The apiserver's readiness covers its etcd: it answers /readyz only with etcd reachable.
      const credentials = await clusterPki();
      await waitFor(`kube-apiserver on ${node.name} to answer /readyz`, options.readyTimeoutMs ?? 180_000, signal, () => apiserverReady(node.address, tlsClient(credentials, 'kube-admin')));
      log.append(cluster, `[kube-apiserver] ${node.name}: ready`);
    },
    kubelet: async (node) => {
      const facts = await observeHostFacts((await connection(node)).docker, dockerOptions(node.name));
      await ensure(node, kubeletContainer(spec, node, facts));
    },
    'apiserver-proxy': (node) => ensure(node, apiserverProxyContainer()),
    'kube-proxy': (node) => ensure(node, kubeProxyContainer(spec, node)),
    'pod-network': async (node) => {
      let network: PodNetworkNode[] = [];
      await withClusterApi((api) =>
        waitFor('every node to register with a podCIDR', options.readyTimeoutMs ?? 180_000, signal, async () => {
          network = await podNetworkNodes(api, spec, signal);
          return network.length === spec.nodes.length;
        }),
      );
      const self = network.find((n) => n.name === node.name)!;
      const others = network.filter((n) => n.name !== node.name);
      await ensurePodNetwork((await connection(node)).docker, spec, self, others, dockerOptions(node.name));
      log.append(cluster, `[pod-network] ${node.name}: pods on ${self.podCidr} (bridge cni0), routes to ${others.map((n) => `${n.podCidr} via ${n.name}`).join(', ') || 'no other node'}`);
    },
    'cluster-objects': () =>
      withClusterApi(async (api) => {
        await waitFor('every node to register and be Ready', options.readyTimeoutMs ?? 180_000, signal, async () => {
          const pending = await notReadyNodes(api, spec, signal);
          return pending.length === 0;
        });
        for (const object of rbacObjects()) await applyObject(api, object, signal);
        for (const node of spec.nodes) {
          await applyObject(api, nodeLabelObject(node), signal);
          const added = await ensureTaints(api, node.name, nodeRoleTaints(node), signal);
          log.append(cluster, `[cluster-objects] ${node.name}: labelled ${node.roles.join(',')}${added.length ? `, tainted ${added.map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`).join(',')}` : ''}`);
        }
        log.append(cluster, `[cluster-objects] ${rbacObjects().length} RBAC bindings applied`);
      }),
    addons: () =>
      withClusterApi(async (api) => {
        const objects = addonObjects(spec);
        for (const object of objects) await applyObject(api, object, signal);
        log.append(cluster, `[addons] ${objects.length} objects applied (flannel, CoreDNS on ${spec.clusterDNSServiceIP}, nginx ingress on edge nodes)`);
      }),
  };

  /** The new cluster's apiserver with zcloud's admin credentials: the first controlplane (spec order) whose apiserver is ready. */
  const withClusterApi = async (work: (api: KubeHttp) => Promise<void>): Promise<void> => {
    const credentials = await clusterPki();
    let chosen: ProvisionedNode | undefined;
    await waitFor("a controlplane's kube-apiserver to answer /readyz", options.readyTimeoutMs ?? 180_000, signal, async () => {
      chosen = await readyControlplane(spec, tlsClient(credentials, 'kube-admin'));
      return chosen !== undefined;
    });
    const first = spec.nodes.find((n) => hasRole(n, 'controlplane'))!;
    if (chosen!.name !== first.name) log.append(cluster, `[kube-apiserver] ${chosen!.name}: used, ${first.name}'s does not answer /readyz`);
    const api = KubeHttp.fromYaml(adminKubeconfig(cluster, `https://${chosen!.address}:${APISERVER_PORT}`, credentials));
    try {
      await work(api);
    } finally {
      api.close();
    }
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

/** A client certificate of the cluster and the CA it trusts. */
export interface ClusterTlsClient {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const tlsClient = (pki: ClusterPki, certificateId: string): ClusterTlsClient => ({ caPem: pki.ca.certPem, certPem: pki.certificates[certificateId]!.certPem, keyPem: pki.certificates[certificateId]!.keyPem });

/** The first controlplane (spec order) whose apiserver answers /readyz to `admin`; undefined when none does. */
export async function readyControlplane(spec: ProvisionedClusterSpec, admin: ClusterTlsClient): Promise<ProvisionedNode | undefined> {
  for (const node of spec.nodes.filter((n) => hasRole(n, 'controlplane'))) {
    if (await apiserverReady(node.address, admin)) return node;
  }
  return undefined;
}

/** GET /readyz of the apiserver at `address`, with an admin certificate and the cluster CA. */
async function apiserverReady(address: string, admin: ClusterTlsClient): Promise<boolean> {
  const answer = await tlsGet(address, APISERVER_PORT, '/readyz', admin);
  return answer?.status === 200;
}

/** GET /health of the etcd member at `address` with the apiserver's etcd client certificate: true once it reports healthy (a leader, its stores readable). */
async function etcdHealthy(address: string, pki: ClusterPki): Promise<boolean> {
  const answer = await tlsGet(address, 2379, '/health', tlsClient(pki, 'kube-apiserver-etcd-client'));
  return answer?.status === 200 && (JSON.parse(answer.body) as { health?: string }).health === 'true';
}

/** One GET with a client certificate of the cluster, trusting only its CA; undefined when nothing answered (5 s). */
function tlsGet(host: string, port: number, path: string, client: ClusterTlsClient): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const probe = request({ host, port, path, ca: client.caPem, cert: client.certPem, key: client.keyPem, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve(undefined));
    });
    probe.on('timeout', () => probe.destroy());
    probe.on('error', () => resolve(undefined));
    probe.end();
  });
}

interface NodeList {
  items: { metadata: { name: string }; spec?: { podCIDR?: string }; status?: { conditions?: { type: string; status: string }[] } }[];
}

/** The spec's nodes that have registered and been given a podCIDR (by the controller-manager), with their addresses. */
async function podNetworkNodes(api: KubeHttp, spec: ProvisionedClusterSpec, signal: AbortSignal): Promise<PodNetworkNode[]> {
  const nodes = await api.request<NodeList>('GET', '/api/v1/nodes', { signal, timeoutMs: 10_000 });
  const podCidrs = new Map(nodes.items.flatMap((n) => (n.spec?.podCIDR ? [[n.metadata.name, n.spec.podCIDR] as const] : [])));
  return spec.nodes.flatMap((n) => {
    const podCidr = podCidrs.get(n.name);
    return podCidr ? [{ name: n.name, address: n.address, podCidr }] : [];
  });
}

/** Names of the spec's nodes that have not registered, or are not Ready. */
async function notReadyNodes(api: KubeHttp, spec: ProvisionedClusterSpec, signal: AbortSignal): Promise<string[]> {
  const nodes = await api.request<NodeList>('GET', '/api/v1/nodes', { signal, timeoutMs: 10_000 });
  const ready = new Set(nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata.name));
  return spec.nodes.map((n) => n.name).filter((name) => !ready.has(name));
}

/**
 * Adds the taints of `wanted` the node lacks, keeping its others (taints are one atomic list):
 * a merge patch carrying the resourceVersion read, retried when the node changed in between.
 * Returns the taints added (none on a re-run).
 */
async function ensureTaints(api: KubeHttp, node: string, wanted: Taint[], signal: AbortSignal): Promise<Taint[]> {
  if (wanted.length === 0) return [];
  for (let attempt = 1; ; attempt++) {
    const current = await api.request<{ metadata: { resourceVersion: string }; spec?: { taints?: Taint[] } }>('GET', `/api/v1/nodes/${node}`, { signal });
    const taints = withTaints(current.spec?.taints ?? [], wanted);
    if (!taints) return [];
    try {
      await api.request('PATCH', `/api/v1/nodes/${node}`, {
        body: { metadata: { resourceVersion: current.metadata.resourceVersion }, spec: { taints } },
        contentType: 'application/merge-patch+json',
        signal,
      });
      return taints.slice((current.spec?.taints ?? []).length);
    } catch (err) {
      if (attempt >= 3 || (err as { status?: number }).status !== 409) throw err;
    }
  }
}
