/**
 * Application installs with the real helm, and what 100 installed applications cost zcloud at
 * steady state.
 *
 *   node --expose-gc --import tsx bench/applications.ts [singles=5] [apps=100] [steadySeconds=60]
 *
 * Uses a test-world cluster `bench-apps` (3 simulated nodes: pods are reported Running), imports
 * it into an in-process zcloud, then:
 *   1. installs `singles` webserver applications one after the other, timing each from the
 *      POST to status `succeed` (helm upgrade --install + manifest + caches caught up);
 *   2. installs `apps` static-site applications at once (the controller runs 4 helm calls in
 *      parallel) and times the whole batch;
 *   3. with all of them succeeded, measures zcloud's CPU (process and helm children), heap and
 *      RSS, and the application controller's reconciles over `steadySeconds`.
 * Destroys the cluster afterwards. Prints a markdown fragment for docs/benchmarks.md.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { destroy, up } from '../scripts/testenv/cluster.js';
import { ensure } from '../scripts/testenv/ensure.js';
import { startZcloud } from '../server/zcloud.js';
import type { ApplicationObject } from '../src/apps/application-crd.js';
import { loadConfig } from '../src/config.js';

const SINGLES = Number(process.argv[2] ?? 5);
const APPS = Number(process.argv[3] ?? 100);
const STEADY_SECONDS = Number(process.argv[4] ?? 60);
const CLUSTER = 'bench-apps';
const NAMESPACE = 'bench';
const ADMIN_SHA1 = '0192309fba8c6f0929b5b00867ebccac9a39e34e';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

/** CPU seconds of this process and of its waited-for children (the helm calls), from /proc. */
function cpuSeconds(): { self: number; children: number } {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const tick = 100; // USER_HZ on Linux
  // After "pid (comm) ": state is field 0; utime 11, stime 12, cutime 13, cstime 14.
  return { self: (Number(fields[11]) + Number(fields[12])) / tick, children: (Number(fields[13]) + Number(fields[14])) / tick };
}

async function main(): Promise<void> {
  await ensure();
  await destroy(CLUSTER);
  const info = await up(CLUSTER, { nodes: 3 });
  const kubeconfig = readFileSync(info.kubeconfigPath, 'utf8');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'zcloud-bench-'));
  const config = loadConfig({ PORT: '0', ZCLOUD_LISTEN_HOST: '127.0.0.1', ZCLOUD_DATA_DIR: dataDir, ZCLOUD_LOG_LEVEL: 'error' });
  const zcloud = await startZcloud(config, { logStream: new PassThrough() });
  try {
    const runtime = await zcloud.services.clusters.register(CLUSTER, kubeconfig);
    while (!runtime.available || !runtime.cache.informer('applications')?.hasSynced) await sleep(50);
    await runtime.client.create('namespaces', { metadata: { name: NAMESPACE } });
    const token = await zcloud.services.users.login('admin', ADMIN_SHA1, 3_600_000, 'bench', 'zcloud');
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const appsUrl = `${zcloud.url}/apis/zcloud.cn/v1/clusters/${CLUSTER}/namespaces/${NAMESPACE}/applications`;
    const store = runtime.cache.informer<ApplicationObject>('applications')!.store;
    const phase = (name: string) => store.get(NAMESPACE, name)?.status?.phase;
    const create = async (name: string, chartName: string, configs: Record<string, unknown>) => {
      const res = await fetch(appsUrl, { method: 'POST', headers, body: JSON.stringify({ name, chartName, chartVersion: '1.0.0', configs }) });
      if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${await res.text()}`);
    };
    const untilSucceeded = async (names: string[]) => {
      for (;;) {
        const failed = names.find((n) => phase(n) === 'failed');
        if (failed) throw new Error(`${failed} failed: ${store.get(NAMESPACE, failed)?.status?.message}`);
        if (names.every((n) => phase(n) === 'succeed')) return;
        await sleep(20);
      }
    };

    const cpuAtStart = cpuSeconds();
    const singles: number[] = [];
    for (let i = 0; i < SINGLES; i++) {
      const started = performance.now();
      await create(`web-${i}`, 'webserver', { replicas: 1 });
      await untilSucceeded([`web-${i}`]);
      singles.push(performance.now() - started);
    }
    const cpuAfterSingles = cpuSeconds();
    const heapBefore = heapUsed();
    const names = Array.from({ length: APPS }, (_, i) => `site-${i}`);
    const batchStarted = performance.now();
    await Promise.all(names.map((n) => create(n, 'static-site', { title: n })));
    await untilSucceeded(names);
    const batchMs = performance.now() - batchStarted;
    const cpuAfterBatch = cpuSeconds();

    await sleep(10_000); // let the pods' Running and the Deployments' ready counts settle
    const reconciles = async () => {
      const text = await (await fetch(`${zcloud.url}/metrics`, { headers })).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith('controller_runtime_reconcile_total{') && l.includes('controller="application"'))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    };
    const heapSteady = heapUsed();
    const reconcilesBefore = await reconciles();
    const cpuBefore = cpuSeconds();
    await sleep(STEADY_SECONDS * 1000);
    const cpuAfter = cpuSeconds();
    const reconcilesAfter = await reconciles();
    const rss = process.memoryUsage().rss;

    singles.sort((a, b) => a - b);
    const ms = (v: number) => `${Math.round(v)} ms`;
    const lines = [
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; helm v4.1.4; Kubernetes v1.20.2 test world; ${new Date().toISOString().slice(0, 10)}.`,
      '',
      `Install to \`succeed\`, webserver chart, one at a time (${SINGLES} runs): p50 **${ms(singles[Math.floor(singles.length / 2)]!)}**, min ${ms(singles[0]!)}, max ${ms(singles[singles.length - 1]!)}; CPU for all ${SINGLES}: zcloud ${(cpuAfterSingles.self - cpuAtStart.self).toFixed(1)} s, helm ${(cpuAfterSingles.children - cpuAtStart.children).toFixed(1)} s.`,
      `${APPS} static-site applications created at once: all \`succeed\` after **${(batchMs / 1000).toFixed(1)} s**; CPU: zcloud ${(cpuAfterBatch.self - cpuAfterSingles.self).toFixed(1)} s, helm ${(cpuAfterBatch.children - cpuAfterSingles.children).toFixed(1)} s.`,
      '',
      `Steady state with ${APPS + SINGLES} applications installed, over ${STEADY_SECONDS} s:`,
      '',
      '| measure | value |',
      '| --- | --- |',
      `| application reconciles | ${reconcilesAfter - reconcilesBefore} (${((reconcilesAfter - reconcilesBefore) / (STEADY_SECONDS / 60)).toFixed(1)}/min) |`,
      `| zcloud CPU | ${(cpuAfter.self - cpuBefore.self).toFixed(2)} s (${((100 * (cpuAfter.self - cpuBefore.self)) / STEADY_SECONDS).toFixed(2)} % of one core) |`,
      `| helm CPU | ${(cpuAfter.children - cpuBefore.children).toFixed(2)} s |`,
      `| heap growth for the ${APPS} applications (after GC) | ${((heapSteady - heapBefore) / 2 ** 20).toFixed(1)} MiB |`,
      `| heap / RSS of the whole process | ${(heapSteady / 2 ** 20).toFixed(0)} MiB / ${(rss / 2 ** 20).toFixed(0)} MiB |`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await zcloud.close();
    await destroy(CLUSTER);
  }
}

await main();
