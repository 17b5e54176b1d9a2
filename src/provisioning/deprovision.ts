import type { ProvisionedClusterSpec, ProvisionedNode } from '../clusters/provisioning-spec.js';
import type { KubeHttp } from '../kube/kube-http.js';
import { KubeApiError } from '../kube/kube-http.js';
import { removeClusterFromHost } from './containers.js';
import { connectHost } from './host-connection.js';
import { imageReference } from './images.js';
import type { ProvisioningJournalStore } from './journal-store.js';
import { ZCLOUD_HOST_DIRS } from './node-plan.js';
import type { ClusterPkiStore } from './pki-store.js';
import type { ProvisioningLog } from './provisioning-log.js';

/**
 * Taking zcloud back off hosts: one node an update removed (drained, its containers and files
 * gone, its Node object deleted), or a whole cluster for DELETE. Only what zcloud made goes:
 * containers labelled with the cluster, the pod containers its kubelet made (dockershim's
 * labels), and zcloud's directories (`ZCLOUD_HOST_DIRS`).
 */

interface HostCleanOptions {
  cluster: string;
  spec: ProvisionedClusterSpec;
  log: ProvisioningLog;
  signal?: AbortSignal;
  callTimeoutMs?: number;
}

export interface DeprovisionOptions extends HostCleanOptions {
  journal: ProvisioningJournalStore;
  pki: ClusterPkiStore;
  /** Nodes an unfinished update took out of the spec whose hosts may still hold zcloud's things. */
  removedNodes?: readonly ProvisionedNode[];
}

/** How long draining a node may take before the removal goes on regardless (best effort, as ZKE). */
const DRAIN_TIMEOUT_MS = 60_000;

/**
 * Cleans one host, reached with its pinned key. A host without one was never reached (a refused
 * key, an unreachable address) and holds nothing of zcloud's.
 */
async function cleanHost(node: ProvisionedNode, pinnedHostKey: string | undefined, options: HostCleanOptions): Promise<void> {
  const { cluster, spec, log } = options;
  if (pinnedHostKey === undefined) {
    log.append(cluster, `[delete] ${node.name}: never reached, nothing to remove`);
    return;
  }
  const timeoutMs = options.callTimeoutMs ?? 30_000;
  const connection = await connectHost(
    { name: node.name, address: node.address, port: spec.sshPort, user: spec.sshUser, privateKey: spec.sshKey, pinnedHostKey },
    { dockerSocket: spec.dockerSocket, timeoutMs, signal: options.signal },
  );
  try {
    const removed = await removeClusterFromHost(connection.docker, imageReference('base'), ZCLOUD_HOST_DIRS, { cluster, host: node.name, timeoutMs, signal: options.signal });
    log.append(cluster, `[delete] ${node.name}: removed ${removed.length ? removed.join(', ') : 'no containers'} and the contents of ${ZCLOUD_HOST_DIRS.join(', ')}`);
  } finally {
    await connection.close();
  }
}

/**
 * Takes back what zcloud put on a provisioned cluster's hosts, host by host, then forgets its
 * PKI and journal. A host that cannot be reached stops it with a HostError naming that host,
 * and nothing is forgotten, so it can be repeated once the host is back.
 */
export async function deprovisionCluster(options: DeprovisionOptions): Promise<void> {
  const { cluster, spec, journal } = options;
  const pinned = (await journal.get(cluster))?.hostKeys ?? {};
  for (const node of [...spec.nodes, ...(options.removedNodes ?? [])]) await cleanHost(node, pinned[node.name], options);
  await options.pki.remove(cluster);
  await journal.remove(cluster);
}

export interface NodeRemovalOptions extends HostCleanOptions {
  journal: ProvisioningJournalStore;
  /** The cluster's apiserver, as zcloud's admin. */
  kube: KubeHttp;
}

/**
 * Removes `node` from a running cluster: drained (best effort: cordoned, its pods evicted, for at
 * most a minute), then its host cleaned, then its Node object deleted (after the kubelet is
 * gone, which would register it again) and its pinned host key forgotten. Every part is
 * idempotent, so a removal cut short is simply done again.
 */
export async function removeNode(node: ProvisionedNode, options: NodeRemovalOptions): Promise<void> {
  const { cluster, kube, log, signal } = options;
  try {
    await drainNode(kube, node.name, signal);
    log.append(cluster, `[remove] ${node.name}: drained`);
  } catch (err) {
    if (signal?.aborted) throw err;
    log.append(cluster, `[remove] ${node.name}: drain incomplete, removing anyway: ${(err as Error).message}`);
  }
  await cleanHost(node, (await options.journal.current(cluster)).hostKeys[node.name], options);
  try {
    await kube.request('DELETE', `/api/v1/nodes/${node.name}`, { signal });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 404)) throw new Error(`${node.name}: delete its Node object: ${(err as Error).message}`, { cause: err });
  }
  await options.journal.unpinHostKey(cluster, node.name);
  log.append(cluster, `[remove] ${node.name}: Node object deleted, host key forgotten`);
}

interface PodList {
  items: { metadata: { name: string; namespace: string; ownerReferences?: { kind: string }[]; annotations?: Record<string, string> } }[];
}

/** Cordons the node and evicts its pods (not DaemonSets' nor static ones, which would only come back), waiting until they are gone. */
async function drainNode(kube: KubeHttp, name: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  const within = () => {
    if (signal?.aborted) throw new Error('cancelled');
    if (Date.now() > deadline) throw new Error(`pods still on it after ${DRAIN_TIMEOUT_MS / 1000} s`);
  };
  try {
    await kube.request('PATCH', `/api/v1/nodes/${name}`, { body: { spec: { unschedulable: true } }, contentType: 'application/strategic-merge-patch+json', signal });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return;
    throw err;
  }
  const evictable = async () => {
    const pods = await kube.request<PodList>('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${name}`)}`, { signal });
    return pods.items.filter((p) => !p.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet') && !p.metadata.annotations?.['kubernetes.io/config.mirror']);
  };
  for (let pods = await evictable(); pods.length > 0; pods = await evictable()) {
    within();
    for (const pod of pods) {
      const eviction = { apiVersion: 'policy/v1beta1', kind: 'Eviction', metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace } };
      await kube.request('POST', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/eviction`, { body: eviction, signal }).catch((err: unknown) => {
        // 404: gone already; 429: a disruption budget says not now, asked again next round.
        if (!(err instanceof KubeApiError && (err.status === 404 || err.status === 429))) throw err;
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
