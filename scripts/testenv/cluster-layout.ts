import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testenvRoot } from './paths.js';

/** The loopback ports one cluster listens on. Chosen once and kept for the cluster's lifetime. */
export interface ClusterPorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  /** The simulated kubelets' one HTTPS port (logs, exec), shared by every node of the cluster. */
  kubelet: number;
}

/** What `up` decided when it first created the cluster; `state.json`. */
export interface ClusterState {
  name: string;
  ports: ClusterPorts;
  createdAt: string;
}

/** The processes one cluster runs, in start order (stopped in reverse). */
export const componentNames = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'node-simulator'] as const;
export type ComponentName = (typeof componentNames)[number];

/** A started process; `pids.json` maps component names to these. */
export interface ProcessRecord {
  pid: number;
  startedAt: string;
}
export type ProcessTable = Partial<Record<ComponentName, ProcessRecord>>;

/** Where everything of cluster `name` lives, under `<repo>/.testenv/<name>/`. */
export interface ClusterLayout {
  name: string;
  dir: string;
  statePath: string;
  pidsPath: string;
  /** The admin kubeconfig handed to users and tests. */
  kubeconfigPath: string;
  /** The kubeconfigs of the components, one per identity. */
  kubeconfigsDir: string;
  pkiDir: string;
  etcdDataDir: string;
  logsDir: string;
  simulatorConfigPath: string;
  logPath(component: ComponentName): string;
}

/** DNS-label-like, short enough to prefix node names and certificate subjects with. */
const namePattern = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

export function clusterLayout(name: string): ClusterLayout {
  if (!namePattern.test(name)) {
    throw new Error(`invalid cluster name ${JSON.stringify(name)}: use 1-40 lowercase letters, digits and '-'`);
  }
  const dir = join(testenvRoot, name);
  const logsDir = join(dir, 'logs');
  return {
    name,
    dir,
    statePath: join(dir, 'state.json'),
    pidsPath: join(dir, 'pids.json'),
    kubeconfigPath: join(dir, 'kubeconfig'),
    kubeconfigsDir: join(dir, 'kubeconfigs'),
    pkiDir: join(dir, 'pki'),
    etcdDataDir: join(dir, 'etcd'),
    logsDir,
    simulatorConfigPath: join(dir, 'node-simulator.json'),
    logPath: (component) => join(logsDir, `${component}.log`),
  };
}

/** Names of every cluster with a directory under `.testenv/`. */
export function knownClusterNames(): string[] {
  if (!existsSync(testenvRoot)) return [];
  return readdirSync(testenvRoot, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && namePattern.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

export function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (err) {
    throw new Error(`read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes via a temporary file and a rename, so a reader never sees half a file. */
export function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(temporary, path);
}

export function readState(layout: ClusterLayout): ClusterState | undefined {
  return readJson<ClusterState>(layout.statePath);
}

export function readPids(layout: ClusterLayout): ProcessTable {
  return readJson<ProcessTable>(layout.pidsPath) ?? {};
}
