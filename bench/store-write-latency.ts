/**
 * API write latency on the file store (lowdb, fsync per group commit) against the kubernetes
 * store (zcloud.cn custom resources), in one run.
 *
 *   node --import tsx bench/store-write-latency.ts [writes=200] [concurrency=16]
 *
 * Each write is `PUT /apis/zcloud.cn/v1/users/bench-<n>` changing the e-mail (no password: no
 * scrypt in the measure), which costs one store update and one audit append. Measured
 * sequentially (latency per write) and with `concurrency` writers at once, each on its own
 * user (throughput). Uses
 * a test-world cluster `bench-store` for the kubernetes store, then destroys it. Prints a
 * markdown table for docs/benchmarks.md.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { destroy, up } from '../scripts/testenv/cluster.js';
import { ensure } from '../scripts/testenv/ensure.js';
import { loadConfig } from '../src/config.js';
import { KubeHttp } from '../src/kube/kube-http.js';
import { ADMIN_DEFAULT_SHA1 } from '../src/users.js';
import { startZcloud } from '../server/zcloud.js';

const WRITES = Number(process.argv[2] ?? 200);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const API = '/apis/zcloud.cn/v1';
const CLUSTER = 'bench-store';

interface Figures {
  store: string;
  p50: number;
  p95: number;
  max: number;
  concurrentPerSecond: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(store: string, env: Record<string, string>): Promise<Figures> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'zcloud-bench-'));
  const config = loadConfig({ PORT: '0', ZCLOUD_LISTEN_HOST: '127.0.0.1', ZCLOUD_DATA_DIR: dataDir, ZCLOUD_LOG_LEVEL: 'error', ...env });
  const zcloud = await startZcloud(config, { logStream: new PassThrough() });
  try {
    const call = async (method: string, urlPath: string, body: unknown, token?: string) => {
      const res = await fetch(`${zcloud.url}${urlPath}`, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${urlPath}: ${res.status} ${text}`);
      return text ? (JSON.parse(text) as { token?: string }) : {};
    };
    const token = (await call('POST', `${API}/users/admin?action=login`, { password: ADMIN_DEFAULT_SHA1 })).token!;
    // One user per concurrent writer: writers of one object would contend on its resourceVersion.
    for (let w = 0; w < CONCURRENCY; w++) await call('POST', `${API}/users`, { name: `bench-${w}`, password: ADMIN_DEFAULT_SHA1, projects: [] }, token);
    const write = (i: number, user = 0) => call('PUT', `${API}/users/bench-${user}`, { email: `bench-${i}@example.test`, projects: [] }, token);
    for (let i = 0; i < 10; i++) await write(i); // warm-up
    const times: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const started = performance.now();
      await write(i);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, user) => {
      while (next < WRITES) await write(next++, user);
    }));
    const concurrentPerSecond = WRITES / ((performance.now() - started) / 1000);
    return { store, p50: percentile(times, 50), p95: percentile(times, 95), max: times[times.length - 1]!, concurrentPerSecond };
  } finally {
    await zcloud.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await ensure();
  await destroy(CLUSTER);
  const info = await up(CLUSTER, { nodes: 1 });
  try {
    const http = KubeHttp.fromYaml(readFileSync(info.kubeconfigPath, 'utf8'));
    await http.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'zcloud-bench' } } });
    http.close();
    const rows = [
      await measure('file (lowdb, fsync)', {}),
      await measure('kubernetes (zcloud.cn objects)', { ZCLOUD_STORE: 'kubernetes', ZCLOUD_STORE_KUBECONFIG: info.kubeconfigPath, ZCLOUD_STORE_NAMESPACE: 'zcloud-bench' }),
    ];
    const ms = (n: number) => n.toFixed(1);
    process.stdout.write(`${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n\n`);
    process.stdout.write(`| store | p50 ms | p95 ms | max ms | writes/s with ${CONCURRENCY} writers |\n| --- | --- | --- | --- | --- |\n`);
    for (const r of rows) process.stdout.write(`| ${r.store} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.max)} | ${r.concurrentPerSecond.toFixed(0)} |\n`);
  } finally {
    await destroy(CLUSTER);
  }
}

await main();
process.exit(0);
