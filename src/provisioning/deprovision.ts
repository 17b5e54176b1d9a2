import type { ProvisionedClusterSpec, ProvisionedNode } from '../clusters/provisioning-spec.js';
import type { KubeHttp } from '../kube/kube-http.js';
import { KubeApiError } from '../kube/kube-http.js';
import { execIn, removeClusterFromHost } from './containers.js';
import { connectHost } from './host-connection.js';
import { imageReference } from './images.js';
import type { ProvisioningJournalStore } from './journal-store.js';
import { zcloudHostPaths } from './host-cleanup.js';
import { parseMemberList } from './etcd-membership.js';
import { removePodNetwork } from './pod-network.js';
import { etcdctlCommand, etcdMemberName, etcdPeerUrl, hasRole } from './node-plan.js';
import type { ClusterPkiStore } from './pki-store.js';
import type { ProvisioningLog } from './provisioning-log.js';

/**
 * Taking zcloud back off hosts: one node an update removed (drained, its containers and files
 * gone, its Node object deleted), or a whole cluster for DELETE. Only what zcloud made goes:
 * containers labelled with the cluster, the pod containers its kubelet made (dockershim's
 * labels), and the files and directories of `zcloudHostPaths`.
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
    const paths = zcloudHostPaths(cluster, spec);
    const docker = { cluster, host: node.name, timeoutMs, signal: options.signal };
    const removed = await removeClusterFromHost(connection.docker, imageReference('base'), paths, docker);
    await removePodNetwork(connection.docker, spec, docker);
    log.append(cluster, `[delete] ${node.name}: removed ${removed.length ? removed.join(', ') : 'no containers'} zcloud's files under ${[...new Set(paths.map((p) => p.path))].join(', ')} and the pod network's routes`);
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
  // A cluster created later under the same name starts with an empty log.
  options.log.forget(cluster);
}

export interface NodeRemovalOptions extends HostCleanOptions {
  journal: ProvisioningJournalStore;
  /** The cluster's apiserver, as zcloud's admin. */
  kube: KubeHttp;
}

/**
 * Removes `node` from a running cluster: drained (best effort: cordoned, its pods evicted, for at
 * most a minute), an etcd member removed from the etcd cluster, then its host cleaned, then its
 * Node object deleted (after the kubelet is gone, which would register it again), with any pod
 * still bound to it, and its pinned host key forgotten. Every part is
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
  if (hasRole(node, 'etcd')) {
    await removeEtcdMember(node, options);
    // Added again later, it joins as a new member.
    await options.journal.forgetEtcdJoin(cluster, node.name);
  }
  await cleanHost(node, (await options.journal.current(cluster)).hostKeys[node.name], options);
  await kube.request('DELETE', `/api/v1/nodes/${node.name}`, { signal }).catch(ignoreGone);
  // Pods still bound to it (a drain cut short) have no kubelet left to confirm their end.
  for (const pod of await podsOn(kube, node.name, signal)) {
    await kube.request('DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}?gracePeriodSeconds=0`, { signal }).catch(ignoreGone);
  }
  await options.journal.unpinHostKey(cluster, node.name);
  log.append(cluster, `[remove] ${node.name}: Node object and its pods deleted, host key forgotten`);
}

interface PodList {
  items: { metadata: { name: string; namespace: string; ownerReferences?: { kind: string }[]; annotations?: Record<string, string> } }[];
}

function podsOn(kube: KubeHttp, node: string, signal?: AbortSignal): Promise<PodList['items']> {
  return kube.request<PodList>('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`, { signal }).then((list) => list.items);
}

function ignoreGone(err: unknown): void {
  if (!(err instanceof KubeApiError && err.status === 404)) throw err;
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
    return ignoreGone(err);
  }
  const evictable = async () => {
    const pods = await podsOn(kube, name, signal);
    return pods.filter((p) => !p.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet') && !p.metadata.annotations?.['kubernetes.io/config.mirror']);
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

/**
 * Takes `node`'s member out of the etcd cluster, through etcdctl in the etcd container of a
 * member that stays (the spec's first etcd node), before its container goes: a member that
 * merely vanished would count against the quorum forever. Nothing to do once it is not listed.
 */
async function removeEtcdMember(node: ProvisionedNode, options: NodeRemovalOptions): Promise<void> {
  const { cluster, spec, log } = options;
  const staying = spec.nodes.find((n) => hasRole(n, 'etcd') && n.name !== node.name);
  if (!staying) throw new Error(`${node.name}: no other etcd member to remove it through`);
  const timeoutMs = options.callTimeoutMs ?? 30_000;
  const connection = await connectHost(
    { name: staying.name, address: staying.address, port: spec.sshPort, user: spec.sshUser, privateKey: spec.sshKey, pinnedHostKey: (await options.journal.current(cluster)).hostKeys[staying.name] },
    { dockerSocket: spec.dockerSocket, timeoutMs, signal: options.signal },
  );
  try {
    const docker = { cluster, host: staying.name, timeoutMs, signal: options.signal };
    const members = parseMemberList(await execIn(connection.docker, 'etcd', etcdctlCommand(staying, ['member', 'list']), docker));
    const member = members.find((m) => m.name === etcdMemberName(node) || m.peerUrl === etcdPeerUrl(node));
    if (!member) {
      log.append(cluster, `[remove] ${node.name}: not an etcd member (any more)`);
      return;
    }
    await execIn(connection.docker, 'etcd', etcdctlCommand(staying, ['member', 'remove', member.id]), docker);
    log.append(cluster, `[remove] ${node.name}: etcd member ${member.id} removed through ${staying.name}`);
  } finally {
    await connection.close();
  }
}
