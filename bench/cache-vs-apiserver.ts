/**
 * Heap per cached pod and LIST latency for 10k pods: through zcloud (served from its informer
 * cache) against the same LIST straight from kube-apiserver, side by side in one run.
 *
 *   node --expose-gc --import tsx bench/cache-vs-apiserver.ts [pods=10000] [rounds=10]
 *
 * Uses a test-world cluster `bench` (scheduler stopped, so the pods stay Pending and nothing
 * else churns), then destroys it. Prints a markdown table for docs/benchmarks.md.
 */
import { cpus, totalmem } from 'node:os';
import { destroy, stopComponent, up } from '../scripts/testenv/cluster.js';
import { ensure } from '../scripts/testenv/ensure.js';
import { KubeHttp } from '../src/kube/kube-http.js';
import { loadConfig } from '../src/config.js';
import { startZcloud } from '../server/zcloud.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';

const POD_COUNT = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 10);
const NAMESPACE = 'bench';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

function podBody(i: number): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, labels: { app: `app-${i % 50}`, tier: 'web', release: 'bench' } },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'registry.local/team/app:1.2.3',
          args: ['--port=8080', '--verbose'],
          env: [
            { name: 'MODE', value: 'production' },
            { name: 'INDEX', value: String(i) },
          ],
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
        },
      ],
    },
  };
}

async function createPods(http: KubeHttp, count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await http.request('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, { body: podBody(i) });
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

async function time(rounds: number, fn: () => Promise<number>): Promise<{ p50: number; max: number; bytes: number }> {
  const samples: number[] = [];
  let bytes = 0;
  await fn(); // warm-up
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    bytes = await fn();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(samples.length / 2)], max: samples[samples.length - 1], bytes };
}

async function fetchBytes(url: string, headers: Record<string, string>): Promise<{ bytes: number; body: unknown }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text.slice(0, 200)}`);
  return { bytes: Buffer.byteLength(text), body: JSON.parse(text) };
}

async function main(): Promise<void> {
  await ensure();
  await destroy('bench');
  const info = await up('bench', { nodes: 3 });
  const kubeconfig = readFileSync(info.kubeconfigPath, 'utf8');
  const http = KubeHttp.fromYaml(kubeconfig);
  try {
    await stopComponent('bench', 'kube-scheduler');
    await http.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } } });
    const createStarted = Date.now();
    await createPods(http, POD_COUNT);
    process.stderr.write(`created ${POD_COUNT} pods in ${((Date.now() - createStarted) / 1000).toFixed(1)} s\n`);

    const dataDir = mkdtempSync(path.join(tmpdir(), 'zcloud-bench-'));
    const config = loadConfig({ PORT: '0', ZCLOUD_LISTEN_HOST: '127.0.0.1', ZCLOUD_DATA_DIR: dataDir, ZCLOUD_LOG_LEVEL: 'error' });
    const zcloud = await startZcloud(config, { logStream: new PassThrough() });
    try {
      const heapBefore = heapUsed();
      const runtime = await zcloud.services.clusters.register('bench', kubeconfig);
      const syncStarted = Date.now();
      while (!runtime.available) await new Promise((r) => setTimeout(r, 50));
      const syncMs = Date.now() - syncStarted;
      const heapAfter = heapUsed();
      const cached = runtime.cache.informer('pods')!.store.size;
      const token = await zcloud.services.users.login('admin', '0192309fba8c6f0929b5b00867ebccac9a39e34e', 3_600_000, 'bench', 'osp');
      const auth = { authorization: `Bearer ${token}` };

      const viaZcloud = await time(ROUNDS, async () => {
        const { bytes, body } = await fetchBytes(`${zcloud.url}/osp/api/pods/bench?namespace=${NAMESPACE}`, auth);
        if ((body as { data: unknown[] }).data.length !== POD_COUNT) throw new Error('zcloud listed the wrong number of pods');
        return bytes;
      });
      const cacheOnly = await time(ROUNDS, async () => runtime.cache.informer('pods')!.store.listNamespace(NAMESPACE).length);
      const apiserver = (query: string) =>
        time(ROUNDS, async () => {
          const text = JSON.stringify(await http.request<{ items: unknown[] }>('GET', `/api/v1/namespaces/${NAMESPACE}/pods${query}`, { timeoutMs: 120_000 }));
          return Buffer.byteLength(text);
        });
      const fromEtcd = await apiserver('');
      const fromWatchCache = await apiserver('?resourceVersion=0');
      const paged = await time(ROUNDS, async () => {
        let cont: string | undefined;
        let bytes = 0;
        do {
          const page = await http.request<{ metadata: { continue?: string } }>('GET', `/api/v1/namespaces/${NAMESPACE}/pods`, {
            query: { limit: 500, continue: cont },
            timeoutMs: 120_000,
          });
          bytes += Buffer.byteLength(JSON.stringify(page));
          cont = page.metadata.continue || undefined;
        } while (cont);
        return bytes;
      });

      const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
      const row = (what: string, r: { p50: number; max: number; bytes: number }, note: string) =>
        `| ${what} | ${r.p50.toFixed(1)} | ${r.max.toFixed(1)} | ${note || kib(r.bytes)} |`;
      const lines = [
        `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; Kubernetes v1.20.2 test world; ${new Date().toISOString().slice(0, 10)}.`,
        '',
        `Pods cached: ${cached} (${POD_COUNT} in namespace ${NAMESPACE}); first sync ${syncMs} ms.`,
        `Heap growth for the whole cluster cache: ${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MiB → **${((heapAfter - heapBefore) / cached / 1024).toFixed(2)} KiB per cached pod** (includes the other kinds' few objects).`,
        '',
        `LIST of ${POD_COUNT} pods, ${ROUNDS} rounds after one warm-up (ms):`,
        '',
        '| path | p50 | max | response |',
        '| --- | --- | --- | --- |',
        row('zcloud `GET /osp/api/pods/bench?namespace=bench` (cache → summary JSON)', viaZcloud, ''),
        row('zcloud cache `store.listNamespace` in-process (no HTTP)', cacheOnly, 'n/a'),
        row('kube-apiserver LIST, quorum read from etcd', fromEtcd, ''),
        row('kube-apiserver LIST `resourceVersion=0` (apiserver watch cache)', fromWatchCache, ''),
        row('kube-apiserver LIST in pages of 500 (as kubectl does)', paged, ''),
      ];
      console.log(lines.join('\n'));
    } finally {
      await zcloud.close();
    }
  } finally {
    http.close();
    await destroy('bench');
  }
}

await main();
