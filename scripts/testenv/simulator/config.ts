import { Backoff } from '../../../src/backoff.js';

/** One simulated node: what it reports about itself. Its InternalIP is plain data; nothing connects to it. */
export interface SimulatedNode {
  name: string;
  /** Each becomes a `node-role.kubernetes.io/<role>: "true"` label. */
  roles: string[];
  internalIP: string;
  /** Pod IPs on this node are handed out from here. */
  podCIDR: string;
  capacity: { cpu: string; memory: string; pods: string };
  allocatable: { cpu: string; memory: string; pods: string };
}

/** The kubelet endpoints the apiserver proxies logs and exec to: one HTTPS server on loopback for every node. */
export interface KubeletServerConfig {
  port: number;
  /** PEM paths of the serving certificate (127.0.0.1), issued by the cluster CA. */
  serving: { cert: string; key: string };
  /** The CA client certificates must chain to (the apiserver's kubelet client). */
  clientCa: string;
  /** Where each container's shell root (busybox) is made. */
  sandboxDir: string;
}

/** Where the apiserver reaches every simulated kubelet (InternalDNS, preferred by its `--kubelet-preferred-address-types`). */
export const kubeletAddress = '127.0.0.1';

/** Everything the node simulator process needs; `up` writes it as JSON and passes its path. */
export interface SimulatorConfig {
  clusterName: string;
  kubeconfigPath: string;
  /** The simulator exits when this file disappears (its cluster was destroyed under it). */
  lifelinePath: string;
  nodes: SimulatedNode[];
  kubelet: KubeletServerConfig;
  /** Every running container writes one log line this often. */
  logIntervalMs: number;
  /** How long a pod owned by a Job runs before it succeeds. */
  jobCompletionMs: number;
  /** Lease renewal period; kubelet's default is 10 s against a 40 s lease. */
  leaseRenewMs: number;
  /** How often node status (with the Ready heartbeat) is re-posted when nothing changed. */
  statusReportMs: number;
  /** Period of the simulated crash loop for pods annotated with `crashAnnotation`. */
  crashRestartMs: number;
}

/** Annotate a pod with this set to "true" to see it crash-loop instead of run. */
export const crashAnnotation = 'testenv.zcloud.cn/crash';

/** Options of the simulator a cluster starts; every field has a default. */
export interface NodeSimulatorOptions {
  /** Number of nodes; default 3. */
  nodes?: number;
  /** Roles per node index. Default: the first node `master`, `controlplane` and `etcd`; the others `worker`. */
  roles?: string[][];
  /** Default 2000 ms. */
  jobCompletionMs?: number;
}

export const defaultNodeCount = 3;
const defaultRoles = (index: number): string[] => (index === 0 ? ['master', 'controlplane', 'etcd'] : ['worker']);

export function simulatorConfig(
  clusterName: string,
  paths: { kubeconfigPath: string; lifelinePath: string; kubelet: KubeletServerConfig },
  options: NodeSimulatorOptions = {},
): SimulatorConfig {
  const count = options.nodes ?? defaultNodeCount;
  // 200 keeps node names, IPs and /24 pod ranges in simple one-octet arithmetic.
  if (!Number.isInteger(count) || count < 1 || count > 200) throw new Error(`nodes must be 1..200, got ${count}`);
  const nodes = Array.from({ length: count }, (_, index): SimulatedNode => ({
    name: `${clusterName}-node-${index + 1}`,
    roles: options.roles?.[index] ?? defaultRoles(index),
    internalIP: `10.250.0.${index + 10}`,
    podCIDR: `10.244.${index}.0/24`,
    capacity: { cpu: '4', memory: '8Gi', pods: '110' },
    allocatable: { cpu: '3900m', memory: '7680Mi', pods: '110' },
  }));
  return {
    clusterName,
    ...paths,
    nodes,
    logIntervalMs: 1_000,
    jobCompletionMs: options.jobCompletionMs ?? 2_000,
    leaseRenewMs: 10_000,
    statusReportMs: 20_000,
    crashRestartMs: 10_000,
  };
}

/**
 * Retry policy against the apiserver: first retry after ~0.2 s, never more than 5 s apart, so
 * the simulated kubelets are back within seconds of an apiserver restart, as real ones are.
 */
export function retryBackoff(): Backoff {
  return new Backoff(200, 5_000);
}
