import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  clusterLayout,
  componentNames,
  knownClusterNames,
  readPids,
  readState,
  writeJson,
  type ClusterLayout,
  type ClusterPorts,
  type ClusterState,
  type ComponentName,
  type ProcessTable,
} from './cluster-layout.js';
import { componentCommand, kubeconfigFor, type ComponentContext } from './components.js';
import { requireKubeBinaries } from './kube-build.js';
import { writeKubeconfig } from './kubeconfig.js';
import { ensurePki, type ClusterPki } from './pki.js';
import { isPortFree, pickFreePorts } from './ports.js';
import { get, waitUntil, type ProbeTls } from './probe.js';
import { isOurProcess, startDetached, stopProcess } from './processes.js';
import { formatDuration, progress } from './progress.js';
import { simulatorConfig, type NodeSimulatorOptions, type SimulatorConfig } from './simulator/config.js';

export type { NodeSimulatorOptions } from './simulator/config.js';

/** A cluster as `up` left it. */
export interface ClusterInfo {
  name: string;
  dir: string;
  /** Admin kubeconfig (O=system:masters), CA, certificate and key embedded. */
  kubeconfigPath: string;
  /** https://127.0.0.1:<apiserver port> */
  server: string;
  ports: ClusterPorts;
  pids: ProcessTable;
  /** The simulated nodes' names, in order. */
  nodeNames: string[];
  /** Components this call started; the others were already running. */
  started: ComponentName[];
}

export interface ComponentStatus {
  name: ComponentName;
  pid?: number;
  alive: boolean;
  logPath: string;
}

export interface ClusterStatus {
  name: string;
  dir: string;
  ports?: ClusterPorts;
  components: ComponentStatus[];
}

/** Limits for the readiness waits. A warm apiserver is ready in ~5 s; 2 cores under load can take several times that. */
const etcdReadyMs = 30_000;
const apiserverReadyMs = 90_000;
const componentsReadyMs = 60_000;
const logTailLines = 30;

/** The pids and ports of cluster `name`'s components, a pure read of its files and /proc. */
export function clusterStatus(name: string): ClusterStatus {
  const layout = clusterLayout(name);
  const pids = readPids(layout);
  return {
    name,
    dir: layout.dir,
    ports: readState(layout)?.ports,
    components: componentNames.map((component) => {
      const pid = pids[component]?.pid;
      return { name: component, pid, alive: pid !== undefined && isOurProcess(pid, marker(layout)), logPath: layout.logPath(component) };
    }),
  };
}

/** Every cluster that has a directory under `.testenv/`, running or not. */
export function allClusterStatuses(): ClusterStatus[] {
  return knownClusterNames().map(clusterStatus);
}

/**
 * Starts cluster `name`, or the parts of it that are not running: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and the node simulator, all on 127.0.0.1. A cluster
 * that ran before keeps its data, ports, certificates and (unless `options.nodes` is given)
 * its node count. Resolves when the apiserver is ready, the controller-manager and scheduler
 * are healthy and every simulated node is Ready; if that fails, the processes this call
 * started are stopped again and the error includes the tail of the failing component's log.
 */
export async function up(name: string, options: NodeSimulatorOptions = {}): Promise<ClusterInfo> {
  const begun = Date.now();
  const layout = clusterLayout(name);
  const binaries = requireKubeBinaries();
  for (const dir of [layout.dir, layout.logsDir, layout.kubeconfigsDir]) mkdirSync(dir, { recursive: true });
  const state = await loadOrCreateState(layout, options);
  const pki = await ensurePki(layout.pkiDir, name);
  const server = `https://127.0.0.1:${state.ports.apiserver}`;
  writeKubeconfigs(layout, pki, server);
  const kubelet = { port: state.ports.kubelet, serving: pki.kubeletServing, clientCa: pki.ca.cert, sandboxDir: join(layout.dir, 'sandboxes') };
  const simulator = simulatorConfig(name, { kubeconfigPath: kubeconfigFor(layout, 'node-simulator'), lifelinePath: layout.simulatorConfigPath, kubelet }, state.simulator);
  writeJson(layout.simulatorConfigPath, simulator);

  const ctx: ComponentContext = { layout, ports: state.ports, pki, binaries };
  const tls: ProbeTls = { caPath: pki.ca.cert, client: pki.admin };
  const pids = readPids(layout);
  const started: ComponentName[] = [];
  const start = async (component: ComponentName): Promise<void> => {
    const running = pids[component];
    if (running && isOurProcess(running.pid, marker(layout))) return;
    await checkPortsFree(layout, component, state.ports);
    const { command, args } = componentCommand(component, ctx);
    const pid = startDetached({ command, args, cwd: layout.dir, env: process.env, logPath: layout.logPath(component) });
    pids[component] = { pid, startedAt: new Date().toISOString() };
    writeJson(layout.pidsPath, pids);
    started.push(component);
  };
  /** Waits for `check`, giving up early if the component's process dies; fails with its log tail. */
  const ready = (component: ComponentName, what: string, withinMs: number, check: () => Promise<boolean>): Promise<void> =>
    waitUntil(check, {
      what: `${what} of cluster ${name}`,
      withinMs,
      abortReason: () => {
        const pid = pids[component]?.pid;
        return pid !== undefined && !isOurProcess(pid, marker(layout)) ? `${component} exited` : undefined;
      },
    }).catch((err: unknown) => {
      const log = layout.logPath(component);
      throw new Error(`start cluster ${name}: ${(err as Error).message}\n--- last lines of ${log}:\n${logTail(log)}`, { cause: err });
    });
  const healthy = (url: string) => async (): Promise<boolean> => (await get(url, url.startsWith('https:') ? tls : undefined)).status === 200;

  try {
    await start('etcd');
    await ready('etcd', 'etcd', etcdReadyMs, healthy(`http://127.0.0.1:${state.ports.etcdClient}/health`));
    await start('kube-apiserver');
    await ready('kube-apiserver', `kube-apiserver to be ready (${server}/readyz)`, apiserverReadyMs, healthy(`${server}/readyz`));
    for (const component of ['kube-controller-manager', 'kube-scheduler', 'node-simulator'] as const) await start(component);
    await Promise.all([
      ready('kube-controller-manager', 'kube-controller-manager to be healthy', componentsReadyMs, healthy(`https://127.0.0.1:${state.ports.controllerManager}/healthz`)),
      ready('kube-scheduler', 'kube-scheduler to be healthy', componentsReadyMs, healthy(`https://127.0.0.1:${state.ports.scheduler}/healthz`)),
      ready('node-simulator', `the ${simulator.nodes.length} simulated nodes to be Ready`, componentsReadyMs, () => nodesReady(server, tls, simulator)),
    ]);
  } catch (err) {
    await stopComponents(layout, pids, started);
    throw err;
  }
  if (started.length) progress(`cluster ${name} up in ${formatDuration(Date.now() - begun)} (${server})`);
  return {
    name,
    dir: layout.dir,
    kubeconfigPath: layout.kubeconfigPath,
    server,
    ports: state.ports,
    pids,
    nodeNames: simulator.nodes.map((node) => node.name),
    started,
  };
}

/** Stops cluster `name`'s processes (by recorded pid, after checking each is still ours); keeps its data. */
export async function down(name: string): Promise<void> {
  const layout = clusterLayout(name);
  const pids = readPids(layout);
  await stopComponents(layout, pids, componentNames);
}

/** Stops cluster `name` and deletes its directory: data, certificates, ports and logs. */
export async function destroy(name: string): Promise<void> {
  const layout = clusterLayout(name);
  await down(name);
  rmSync(layout.dir, { recursive: true, force: true });
}

/**
 * Stops one component of a running cluster, e.g. the apiserver, to test how clients live
 * through its restart; `up` starts it again.
 */
export async function stopComponent(name: string, component: ComponentName): Promise<void> {
  const layout = clusterLayout(name);
  await stopComponents(layout, readPids(layout), [component]);
}

/**
 * How long each component gets between SIGTERM and SIGKILL. etcd gets time to sync its data.
 * The apiserver keeps no state of its own, and while clients hold watches open its graceful
 * shutdown waits for them (up to a minute): with its clients stopped first it exits within
 * ~1 s, and when it is stopped alone (a restart test) a kill after 3 s loses nothing.
 */
const stopGraceMs: Record<ComponentName, number> = {
  etcd: 10_000,
  'kube-apiserver': 3_000,
  'kube-controller-manager': 5_000,
  'kube-scheduler': 5_000,
  'node-simulator': 5_000,
};

/**
 * Stops `components` in reverse start order: clients first (simulator, scheduler,
 * controller-manager, in parallel), then the apiserver, then etcd, so nothing logs
 * connection errors against an already stopped server.
 */
async function stopComponents(layout: ClusterLayout, pids: ProcessTable, components: readonly ComponentName[]): Promise<void> {
  const waves: ComponentName[][] = [['node-simulator', 'kube-scheduler', 'kube-controller-manager'], ['kube-apiserver'], ['etcd']];
  for (const wave of waves) {
    await Promise.all(
      wave
        .filter((component) => components.includes(component))
        .map(async (component) => {
          const record = pids[component];
          if (record) await stopProcess(record.pid, marker(layout), stopGraceMs[component]);
          delete pids[component];
        }),
    );
  }
  if (existsSync(layout.dir)) writeJson(layout.pidsPath, pids);
}

/** Every argument list names a file in the cluster directory; the trailing slash keeps "a" from matching "a-b". */
function marker(layout: ClusterLayout): string {
  return `${layout.dir}/`;
}

interface StoredState extends ClusterState {
  simulator: NodeSimulatorOptions;
}

async function loadOrCreateState(layout: ClusterLayout, options: NodeSimulatorOptions): Promise<StoredState> {
  const existing = readState(layout) as StoredState | undefined;
  if (existing) {
    const simulator = { ...existing.simulator, ...definedFields(options) };
    // Clusters made before the kubelet port existed get one now.
    const kubelet = existing.ports.kubelet ?? (await pickFreePorts(1, reservedPorts(layout)))[0]!;
    const state = { ...existing, ports: { ...existing.ports, kubelet }, simulator };
    writeJson(layout.statePath, state);
    return state;
  }
  const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler, kubelet] = await pickFreePorts(6, reservedPorts(layout));
  const state: StoredState = {
    name: layout.name,
    ports: { etcdClient: etcdClient!, etcdPeer: etcdPeer!, apiserver: apiserver!, controllerManager: controllerManager!, scheduler: scheduler!, kubelet: kubelet! },
    createdAt: new Date().toISOString(),
    simulator: definedFields(options),
  };
  writeJson(layout.statePath, state);
  return state;
}

/** The ports the other clusters of this checkout hold. */
function reservedPorts(layout: ClusterLayout): Set<number> {
  return new Set(
    knownClusterNames()
      .filter((other) => other !== layout.name)
      .flatMap((other) => Object.values(readState(clusterLayout(other))?.ports ?? {})),
  );
}

function definedFields<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}

async function checkPortsFree(layout: ClusterLayout, component: ComponentName, ports: ClusterPorts): Promise<void> {
  const needed: Partial<Record<ComponentName, number[]>> = {
    etcd: [ports.etcdClient, ports.etcdPeer],
    'kube-apiserver': [ports.apiserver],
    'kube-controller-manager': [ports.controllerManager],
    'kube-scheduler': [ports.scheduler],
    'node-simulator': [ports.kubelet],
  };
  for (const port of needed[component] ?? []) {
    if (!(await isPortFree(port))) {
      throw new Error(
        `port ${port} of ${component} in cluster ${layout.name} is taken by another process; ` +
          `stop it, or run \`npm run testenv -- destroy ${layout.name}\` to start over with new ports`,
      );
    }
  }
}

function writeKubeconfigs(layout: ClusterLayout, pki: ClusterPki, server: string): void {
  const common = { clusterName: layout.name, server, caPath: pki.ca.cert };
  writeKubeconfig(layout.kubeconfigPath, { ...common, user: 'admin', client: pki.admin });
  writeKubeconfig(kubeconfigFor(layout, 'kube-controller-manager'), { ...common, user: 'kube-controller-manager', client: pki.controllerManager });
  writeKubeconfig(kubeconfigFor(layout, 'kube-scheduler'), { ...common, user: 'kube-scheduler', client: pki.scheduler });
  writeKubeconfig(kubeconfigFor(layout, 'node-simulator'), { ...common, user: 'node-simulator', client: pki.nodeSimulator });
}

interface NodeList {
  items: {
    metadata: { name: string };
    spec?: { taints?: { key: string }[] };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

/**
 * Ready, and schedulable: the TaintNodesByCondition admission plugin gives every new Node a
 * not-ready NoSchedule taint, which the node-lifecycle controller lifts only once it has seen
 * the node Ready; until then the scheduler would leave pods pending.
 */

async function nodesReady(server: string, tls: ProbeTls, simulator: SimulatorConfig): Promise<boolean> {
  const response = await get(`${server}/api/v1/nodes`, tls);
  if (response.status !== 200) throw new Error(`GET /api/v1/nodes: ${response.status}`);
  const ready = new Set(
    (JSON.parse(response.body) as NodeList).items
      .filter((node) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .filter((node) => !node.spec?.taints?.some((taint) => taint.key === 'node.kubernetes.io/not-ready'))
      .map((node) => node.metadata.name),
  );
  return simulator.nodes.every((node) => ready.has(node.name));
}

function logTail(path: string): string {
  if (!existsSync(path)) return '(no log)';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-logTailLines).join('\n');
}
