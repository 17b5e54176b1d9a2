/**
 * Issue 20's scale check: one real test-world apiserver with N pods imported C times under
 * different names (each import has its own informers and cache, so this is zcloud's honest
 * per-cluster cost), then: time until all are synced, RSS and heap, idle CPU of the whole
 * process, and how health probes are spread over the interval (probes started per second).
 *
 *   node --expose-gc --import tsx bench/many-clusters.ts [clusters=100] [pods=1000] [idleSeconds=60]
 *
 * The cluster `bench-many` is destroyed at the end. Exits non-zero only when it cannot measure.
 */
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { destroy } from '../scripts/testenv/cluster.js';
import { createRunningPods, freshBenchCluster, nodesFor, sleep, stopControllersWhenNamespaceReady } from './bound-pods.js';
import { loadConfig } from '../src/config.js';
import { startZcloud } from '../server/zcloud.js';

const CLUSTERS = Number(process.argv[2] ?? 100);
const POD_COUNT = Number(process.argv[3] ?? 1000);
const IDLE_SECONDS = Number(process.argv[4] ?? 60);
const CLUSTER = 'bench-many';
const NAMESPACE = 'bench';
const NODES = nodesFor(POD_COUNT);
const HEALTH_INTERVAL_S = 10;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

function settledMemory(): NodeJS.MemoryUsage {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage();
}

async function main(): Promise<void> {
  const { kubeconfig, kube } = await freshBenchCluster(CLUSTER, NODES);
  try {
    await kube.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } } });
    // Bare pods bound to the simulated nodes: nothing else creates or deletes any.
    await stopControllersWhenNamespaceReady(kube, CLUSTER, NAMESPACE);
    await createRunningPods(kube, {
      cluster: CLUSTER,
      namespace: NAMESPACE,
      nodes: NODES,
      count: POD_COUNT,
      podOf: (i) => ({ metadata: { name: `p-${i}`, labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.local/web:1' }] } }),
    });

    const dataDir = mkdtempSync(path.join(tmpdir(), 'zcloud-bench-many-'));
    const config = loadConfig({
      PORT: '0',
      ZCLOUD_LISTEN_HOST: '127.0.0.1',
      ZCLOUD_DATA_DIR: dataDir,
      ZCLOUD_LOG_LEVEL: 'error',
      ZCLOUD_HEALTH_INTERVAL: `${HEALTH_INTERVAL_S}s`,
    });
    const zcloud = await startZcloud(config, { logStream: new PassThrough() });
    try {
      const before = settledMemory();
      const started = Date.now();
      const runtimes = [];
      for (let i = 0; i < CLUSTERS; i++) runtimes.push(await zcloud.services.clusters.register(`c-${String(i).padStart(3, '0')}`, kubeconfig));
      while (runtimes.some((r) => !r.available)) {
        if (Date.now() - started > 20 * 60_000) throw new Error(`${runtimes.filter((r) => !r.available).length} clusters not synced after 20 minutes`);
        await sleep(500);
      }
      const syncMs = Date.now() - started;
      await sleep(5000);
      const after = settledMemory();
      const podsCached = runtimes.reduce((sum, r) => sum + (r.cache.informer('pods')?.store.size ?? 0), 0);

      // Idle: sample each cluster's last probe time every 100 ms to count probe starts per second.
      const lastSeen = new Map<string, string | undefined>(runtimes.map((r) => [r.name, r.health.lastProbeAt]));
      const probesPerSecond = new Map<number, number>();
      const cpuBefore = process.cpuUsage();
      // A stall of zcloud's own event loop would release waiting probes together: told apart from a slow apiserver.
      const loopDelay = monitorEventLoopDelay({ resolution: 20 });
      loopDelay.enable();
      const idleStarted = Date.now();
      while (Date.now() - idleStarted < IDLE_SECONDS * 1000) {
        await sleep(100);
        const second = Math.floor((Date.now() - idleStarted) / 1000);
        for (const r of runtimes) {
          if (r.health.lastProbeAt !== lastSeen.get(r.name)) {
            lastSeen.set(r.name, r.health.lastProbeAt);
            probesPerSecond.set(second, (probesPerSecond.get(second) ?? 0) + 1);
          }
        }
      }
      const cpu = process.cpuUsage(cpuBefore);
      loopDelay.disable();
      const loadAtIdle = loadavg()[0];
      const idleCpu = (cpu.user + cpu.system) / 1e6 / IDLE_SECONDS;
      const counts = Array.from({ length: IDLE_SECONDS }, (_, s) => probesPerSecond.get(s) ?? 0);
      const total = counts.reduce((a, b) => a + b, 0);
      const unavailable = runtimes.filter((r) => !r.available).length;

      console.log(
        [
          `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; load average at the end ${loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')}; ${new Date().toISOString().slice(0, 16)}Z.`,
          '',
          `${CLUSTERS} imports of one test apiserver with ${POD_COUNT} Running pods; health interval ${HEALTH_INTERVAL_S} s.`,
          '',
          '| measure | value | goal |',
          '| --- | --- | --- |',
          `| all ${CLUSTERS} synced after | ${(syncMs / 1000).toFixed(1)} s | — |`,
          `| pods cached over all imports | ${podsCached} | ${CLUSTERS * POD_COUNT} |`,
          `| RSS: before → with all imports (heap) | ${mib(before.rss)} → **${mib(after.rss)}** (${mib(before.heapUsed)} → ${mib(after.heapUsed)}) | < 1 GiB |`,
          `| idle CPU of the whole process over ${IDLE_SECONDS} s | **${(idleCpu * 100).toFixed(2)} %** of a core | < 5 % |`,
          `| health probes over ${IDLE_SECONDS} s: total; per second min / median / max | ${total}; ${Math.min(...counts)} / ${[...counts].sort((a, b) => a - b)[Math.floor(counts.length / 2)]} / ${Math.max(...counts)} | ${CLUSTERS / HEALTH_INTERVAL_S} per second, no bursts |`,
          `| zcloud's event-loop delay over the idle time: p99 / max | ${(loopDelay.percentile(99) / 1e6).toFixed(0)} / ${(loopDelay.max / 1e6).toFixed(0)} ms | — |`,
          `| clusters not available at the end | ${unavailable} | 0 |`,
          '',
          `Load average (1 min) at the end of the idle time: ${loadAtIdle.toFixed(1)}.`,
        ].join('\n'),
      );
    } finally {
      await zcloud.close();
    }
  } finally {
    kube.close();
    await destroy(CLUSTER);
  }
}

await main();
