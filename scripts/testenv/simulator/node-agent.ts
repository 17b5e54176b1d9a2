import { createHash } from 'node:crypto';
import { sleep } from '../../../src/backoff.js';
import { kubeletAddress, retryBackoff, type SimulatedNode, type SimulatorConfig } from './config.js';
import { isApiError, type KubeClient } from './kube-client.js';
import { kubeTime } from './pod-status.js';
import { kubeVersion } from '../kube-build.js';

interface NodeCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
}

interface NodeObject {
  metadata: { name: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: { conditions?: NodeCondition[]; [field: string]: unknown };
  [field: string]: unknown;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string };
}

/** The label a node's role is shown with (`kubectl get nodes` reads the part after the slash). */
export const roleLabelPrefix = 'node-role.kubernetes.io/';
const leaseNamespace = 'kube-node-lease';
/** Marks the Nodes the simulator made, so it never deletes one it did not. */
const simulatedAnnotation = 'testenv.zcloud.cn/simulated';
/** Kubelet's default; the node-lifecycle controller's grace period (40 s) is measured against it. */
const leaseDurationSeconds = 40;

/** Condition types and the "healthy" answer a kubelet gives for each, in kubelet's order. */
const healthyConditions: [type: string, status: 'True' | 'False', reason: string, message: string][] = [
  ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
];

function stableId(node: SimulatedNode, purpose: string): string {
  return createHash('sha256').update(`${node.name}/${purpose}`).digest('hex').slice(0, 32);
}

function nodeStatus(node: SimulatedNode, kubeletPort: number, now: string, previous?: NodeCondition[]) {
  return {
    capacity: { ...node.capacity, 'ephemeral-storage': '100Gi', 'hugepages-2Mi': '0' },
    allocatable: { ...node.allocatable, 'ephemeral-storage': '95Gi', 'hugepages-2Mi': '0' },
    conditions: healthyConditions.map(([type, status, reason, message]): NodeCondition => {
      const old = previous?.find((c) => c.type === type);
      const lastTransitionTime = old?.status === status ? old.lastTransitionTime : now;
      return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime };
    }),
    addresses: [
      { type: 'InternalIP', address: node.internalIP },
      { type: 'InternalDNS', address: kubeletAddress },
      { type: 'Hostname', address: node.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
    nodeInfo: {
      machineID: stableId(node, 'machine'),
      systemUUID: stableId(node, 'system'),
      bootID: stableId(node, 'boot'),
      kernelVersion: '6.1.0-simulated',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      containerRuntimeVersion: 'containerd://1.6.20',
      kubeletVersion: `v${kubeVersion}`,
      kubeProxyVersion: `v${kubeVersion}`,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

function nodeObject(node: SimulatedNode, kubeletPort: number, now: string): NodeObject {
  const roleLabels = Object.fromEntries(node.roles.map((role) => [`${roleLabelPrefix}${role}`, 'true']));
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels: {
        'kubernetes.io/hostname': node.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        ...roleLabels,
      },
      annotations: { [simulatedAnnotation]: 'true', 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] },
    status: nodeStatus(node, kubeletPort, now),
  };
}

/**
 * The kubelet's node half for one simulated node: registers the Node (status included, as
 * nodes allow on create), renews its Lease in kube-node-lease every `leaseRenewMs` and
 * re-posts its status with a fresh Ready heartbeat every `statusReportMs`, so the
 * node-lifecycle controller keeps it Ready. Every failure is retried with backoff, so an
 * apiserver restart only delays the next heartbeat.
 */
export class NodeAgent {
  #registered = false;
  #lastStatusReport = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly node: SimulatedNode,
    private readonly config: SimulatorConfig,
    private readonly log: (message: string) => void,
  ) {}

  /** Runs until `signal` aborts; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const backoff = retryBackoff();
    while (!signal.aborted) {
      try {
        await this.#beat();
        backoff.reset();
        await sleep(this.config.leaseRenewMs, signal);
      } catch (err) {
        // The Node was deleted under us (a test removing a node): register it again.
        if (isApiError(err, 404)) this.#registered = false;
        const delay = backoff.next();
        this.log(`node ${this.node.name}: ${(err as Error).message}; retrying in ${Math.round(delay)} ms`);
        await sleep(delay, signal);
      }
    }
  }

  async #beat(): Promise<void> {
    if (!this.#registered) {
      await this.#register();
      this.#registered = true;
      this.#lastStatusReport = Date.now();
    } else if (Date.now() - this.#lastStatusReport >= this.config.statusReportMs) {
      await this.#reportStatus();
      this.#lastStatusReport = Date.now();
    }
    await this.#renewLease();
  }

  async #register(): Promise<void> {
    const now = kubeTime(new Date());
    try {
      await this.client.post('/api/v1/nodes', nodeObject(this.node, this.config.kubelet.port, now));
      this.log(`node ${this.node.name}: registered`);
    } catch (err) {
      if (!isApiError(err, 409)) throw err;
      // Registered by an earlier run of the simulator: report fresh status instead.
      await this.#reportStatus();
    }
  }

  async #reportStatus(): Promise<void> {
    const path = `/api/v1/nodes/${this.node.name}`;
    const current = await this.client.get<NodeObject>(path);
    const status = nodeStatus(this.node, this.config.kubelet.port, kubeTime(new Date()), current.status?.conditions);
    await this.client.put(`${path}/status`, { ...current, status: { ...current.status, ...status } });
  }

  async #renewLease(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${leaseNamespace}/leases/${this.node.name}`;
    // MicroTime: leases carry microseconds, unlike other Kubernetes times.
    const renewTime = new Date().toISOString().replace('Z', '000Z');
    let lease: Lease | undefined;
    try {
      lease = await this.client.get<Lease>(path);
    } catch (err) {
      if (!isApiError(err, 404)) throw err;
    }
    if (lease) {
      await this.client.put(path, { ...lease, spec: { ...lease.spec, renewTime } });
      return;
    }
    const node = await this.client.get<NodeObject>(`/api/v1/nodes/${this.node.name}`);
    await this.client.post(`/apis/coordination.k8s.io/v1/namespaces/${leaseNamespace}/leases`, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.node.name,
        namespace: leaseNamespace,
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.node.name, uid: node.metadata.uid }],
      },
      spec: { holderIdentity: this.node.name, leaseDurationSeconds, renewTime },
    });
  }
}

/**
 * Deletes the simulated Nodes an earlier run registered that the current configuration no
 * longer has (the cluster was restarted with fewer nodes); they would otherwise turn NotReady
 * and keep their pods. Nodes not made by the simulator are left alone. One attempt: a failure
 * is logged and the nodes merely linger.
 */
export async function removeStaleNodes(client: KubeClient, config: SimulatorConfig, log: (message: string) => void): Promise<void> {
  const wanted = new Set(config.nodes.map((node) => node.name));
  try {
    const nodes = await client.get<{ items: NodeObject[] }>('/api/v1/nodes');
    const stale = nodes.items.filter((node) => node.metadata.annotations?.[simulatedAnnotation] === 'true' && !wanted.has(node.metadata.name));
    for (const node of stale) {
      await client.delete(`/api/v1/nodes/${node.metadata.name}`);
      log(`node ${node.metadata.name}: removed, no longer configured`);
    }
  } catch (err) {
    log(`could not remove stale nodes: ${(err as Error).message}`);
  }
}
