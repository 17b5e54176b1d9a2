/**
 * The test world for mocha suites: real Kubernetes clusters (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler on 127.0.0.1) with simulated nodes. See
 * docs/test-world.md. The Kubernetes binaries must be built: `npm test` runs
 * `npm run testenv -- ensure` first.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { readPids, clusterLayout, componentNames, type ComponentName } from '../../scripts/testenv/cluster-layout.js';
import { destroy, down, stopComponent, up, type NodeSimulatorOptions } from '../../scripts/testenv/cluster.js';
import { isOurProcess, signal } from '../../scripts/testenv/processes.js';

export interface TestClusterOptions extends NodeSimulatorOptions {
  /**
   * Start from nothing: delete what an earlier run left in `.testenv/<name>` (data, ports,
   * certificates) before the first start in this run. Default true, so every run sees the
   * same empty cluster whatever came before.
   */
  fresh?: boolean;
}

/** One running test cluster. Shared by every caller in the run: do not mutate its fields. */
export interface TestCluster {
  name: string;
  /** `<repo>/.testenv/<name>` */
  dir: string;
  /** Admin kubeconfig file (O=system:masters), with CA, certificate and key embedded. */
  kubeconfigPath: string;
  /** That file's content, e.g. to register the cluster with zcloud as a user would. */
  kubeconfig: string;
  /** A client-node config loaded from it. */
  kc: KubeConfig;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Names of the simulated nodes, the first one being the master/controlplane/etcd node. */
  nodeNames: string[];
  /** Stops every process of the cluster (by recorded pid), keeping data, ports and certificates. */
  stop(): Promise<void>;
  /**
   * Starts whatever is not running (after `stop` or `stopComponent`); resolves when ready.
   * `options` apply when the node simulator starts, i.e. after `stop`.
   */
  start(options?: NodeSimulatorOptions): Promise<void>;
  /** Stops one process, e.g. 'kube-apiserver', to see how clients live through its restart. */
  stopComponent(component: ComponentName): Promise<void>;
  /** Stops the cluster and deletes its directory; a later `testCluster(name)` starts a new one. */
  destroy(): Promise<void>;
}

/**
 * The cluster most suites share (each in its own namespaces, or through its own zcloud import):
 * a cluster start costs ~15-20 s, so one for some forty suites keeps `npm test` short. Suites
 * must not stop it without starting it again in `finally`, nor destroy it.
 */
export const sharedTestCluster = 'shared';

/** Clusters this process brought up, by name: each starts once per test run. */
const clusters = new Map<string, Promise<TestCluster>>();
/** Every cluster this run tried to start and has not destroyed: what the root hook stops. */
const used = new Set<string>();

/**
 * Cluster `name`, started on first use in this test run and shared afterwards (later calls
 * get the same cluster and their options are ignored). Prefix names per suite ("api-...",
 * "testenv-...") so suites don't share clusters by accident. Every cluster started here is
 * stopped by the root hook after the run (test/helpers/root-hooks.ts), even when tests fail.
 * Takes ~5-10 s when the cluster has to start.
 */
export function testCluster(name: string, options: TestClusterOptions = {}): Promise<TestCluster> {
  let cluster = clusters.get(name);
  if (!cluster) {
    cluster = startTestCluster(name, options);
    clusters.set(name, cluster);
    // A failed start is not remembered: the next caller tries again and sees its own error.
    cluster.catch(() => clusters.delete(name));
  }
  return cluster;
}

/**
 * Marks cluster `name` as used by this test run (a pid file beside its directory, which `fresh`
 * deletes), so that a second run started meanwhile fails clearly instead of destroying it.
 * A file left by a run that died does not count.
 */
function claim(name: string): void {
  const path = ownerPath(name);
  const owner = existsSync(path) ? Number(readFileSync(path, 'utf8')) : 0;
  if (owner > 0 && owner !== process.pid && existsSync(`/proc/${owner}`)) {
    throw new Error(`cluster ${name} is in use by another test run (pid ${owner}); wait for it to finish`);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, String(process.pid));
}

function release(name: string): void {
  rmSync(ownerPath(name), { force: true });
}

function ownerPath(name: string): string {
  return `${clusterLayout(name).dir}.test-run.pid`;
}

async function startTestCluster(name: string, options: TestClusterOptions): Promise<TestCluster> {
  const { fresh = true, ...simulator } = options;
  claim(name);
  used.add(name);
  if (fresh) await destroy(name);
  const info = await up(name, simulator);
  const kubeconfig = readFileSync(info.kubeconfigPath, 'utf8');
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig);
  return {
    name,
    dir: info.dir,
    kubeconfigPath: info.kubeconfigPath,
    kubeconfig,
    kc,
    server: info.server,
    nodeNames: info.nodeNames,
    stop: () => down(name),
    start: async (options) => {
      await up(name, options);
    },
    stopComponent: (component) => stopComponent(name, component),
    destroy: async () => {
      clusters.delete(name);
      used.delete(name);
      await destroy(name);
      release(name);
    },
  };
}

/**
 * Stops every cluster this process started (root hook `afterAll`). Clusters whose start
 * failed are stopped too, since a half-started cluster may have left processes behind.
 */
export async function stopAllTestClusters(): Promise<void> {
  const names = [...used];
  clusters.clear();
  used.clear();
  await Promise.all(names.map(async (name) => {
    await down(name);
    release(name);
  }));
}

/**
 * Last resort when the process exits without the root hook having run (e.g. mocha bailing
 * out): SIGTERM every process of the clusters still registered. Synchronous, as 'exit'
 * handlers must be; the processes shut down by themselves.
 */
process.once('exit', () => {
  for (const name of used) {
    const layout = clusterLayout(name);
    const pids = readPids(layout);
    for (const component of componentNames) {
      const pid = pids[component]?.pid;
      if (pid !== undefined && isOurProcess(pid, `${layout.dir}/`)) signal(pid, 'SIGTERM');
    }
  }
});

/** How long a new namespace may take to get its `default` service account and token. */
const namespaceReadyMs = 20_000;

/**
 * Creates a namespace with a random name (`<prefix>-<hex>`) and waits until pods can be
 * created in it: Kubernetes 1.20 rejects pods until the controller-manager has made the
 * namespace's `default` service account and its token secret. Returns the name.
 */
export async function freshNamespace(kc: KubeConfig, prefix = 'test'): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'testenv.zcloud.cn/fresh': 'true' } } } });
  await eventually(
    async () => {
      const account = await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      if (!account.secrets?.length) throw new Error(`service account ${name}/default has no token yet`);
    },
    { within: namespaceReadyMs },
  );
  return name;
}

export interface EventuallyOptions {
  /** Give up after this many ms. Default 5000. */
  within?: number;
  /** Wait this long between attempts. Default 100. */
  interval?: number;
}

/**
 * Calls `fn` until it returns without throwing, and returns what it returned. After `within`
 * ms the last error is rethrown as it was (so assertion diffs survive), its message prefixed
 * with how long we waited. Use it instead of sleeps: it is as fast as the system allows and
 * still bounded.
 */
export async function eventually<T>(fn: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const within = options.within ?? 5_000;
  const interval = options.interval ?? 100;
  const deadline = Date.now() + within;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() + interval > deadline) {
        if (err instanceof Error) err.message = `not within ${within} ms: ${err.message}`;
        throw err;
      }
    }
    await sleep(interval);
  }
}
