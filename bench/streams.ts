/**
 * Load on the streams: 200 concurrent sockets (100 event streams, 100 resumable watches of a
 * configmap collection) on one in-process zcloud, then 10 stalled readers.
 *
 *   node --expose-gc --import tsx bench/streams.ts [sockets=200] [stalled=10]
 *
 * Brings up a test-world cluster `bench-streams` (1 node), imports it, and measures: heap and
 * RSS per open socket; delivery latency of a change to every watcher and of a new
 * deployment's event to every event socket; then, with `stalled` clients that stop reading
 * while 3 MB per client is sent, whether they are dropped and what heap stays after.
 * Destroys the cluster. Prints markdown for docs/benchmarks.md.
 */
import { cpus, totalmem, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import WebSocket from 'ws';
import { destroy, up } from '../scripts/testenv/cluster.js';
import { ensure } from '../scripts/testenv/ensure.js';
import { loadConfig } from '../src/config.js';
import { KubeHttp } from '../src/kube/kube-http.js';
import { startZcloud } from '../server/zcloud.js';

const SOCKETS = Number(process.argv[2] ?? 200);
const STALLED = Number(process.argv[3] ?? 10);
const CLUSTER = 'bench-streams';
const NAMESPACE = 'bench';
const ADMIN_SHA1 = '0192309fba8c6f0929b5b00867ebccac9a39e34e';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heapMiB = (): number => {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;

interface Client {
  ws: WebSocket;
  /** Called with each frame's text. */
  onFrame?: (text: string) => void;
}

async function connect(url: string): Promise<Client> {
  const ws = new WebSocket(url);
  const client: Client = { ws };
  ws.on('message', (data) => client.onFrame?.(data.toString()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}

/** ms from `start` until every client saw a frame `matches` accepts. */
async function deliveries(clients: Client[], matches: (text: string) => boolean, start: () => Promise<unknown>): Promise<number[]> {
  const began = performance.now();
  const arrivals = clients.map(
    (client) =>
      new Promise<number>((resolve) => {
        client.onFrame = (text) => {
          if (matches(text)) {
            client.onFrame = undefined;
            resolve(performance.now() - began);
          }
        };
      }),
  );
  await start();
  return Promise.all(arrivals);
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  await ensure();
  await destroy(CLUSTER);
  const info = await up(CLUSTER, { nodes: 1 });
  const kubeconfig = readFileSync(info.kubeconfigPath, 'utf8');
  const http = KubeHttp.fromYaml(kubeconfig);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'zcloud-bench-'));
  const config = loadConfig({ PORT: '0', ZCLOUD_LISTEN_HOST: '127.0.0.1', ZCLOUD_DATA_DIR: dataDir, ZCLOUD_LOG_LEVEL: 'error' });
  const zcloud = await startZcloud(config, { logStream: new PassThrough() });
  const clients: Client[] = [];
  try {
    await http.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } } });
    const runtime = await zcloud.services.clusters.register(CLUSTER, kubeconfig);
    while (!runtime.available) await new Promise((r) => setTimeout(r, 50));
    const token = await zcloud.services.users.login('admin', ADMIN_SHA1, 3_600_000, 'bench');
    const base = `${zcloud.url.replace(/^http/, 'ws')}/apis/ws.zcloud.cn/v1`;
    const collection = encodeURIComponent(`/apis/zcloud.cn/v1/clusters/${CLUSTER}/namespaces/${NAMESPACE}/configmaps`);
    const eventUrl = `${base}/clusters/${CLUSTER}/event?token=${token}`;
    const watchUrl = `${base}/watch?url=${collection}&token=${token}`;

    const heap0 = heapMiB();
    const rss0 = rssMiB();
    const opened = performance.now();
    const half = Math.floor(SOCKETS / 2);
    for (let i = 0; i < SOCKETS; i++) clients.push(await connect(i < half ? eventUrl : watchUrl));
    const openMs = performance.now() - opened;
    await new Promise((r) => setTimeout(r, 500));
    const heap1 = heapMiB();
    const rss1 = rssMiB();

    const watchers = clients.slice(half);
    const eventers = clients.slice(0, half);
    const changeLatency: number[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `cm-${i}`;
      changeLatency.push(
        ...(await deliveries(watchers, (t) => t.includes(`"name":"${name}"`), () =>
          http.request('POST', `/api/v1/namespaces/${NAMESPACE}/configmaps`, { body: { metadata: { name }, data: { key: 'v' } } }),
        )),
      );
    }
    const eventLatency: number[] = [];
    for (let i = 0; i < 3; i++) {
      const name = `web-${i}`;
      const body = {
        metadata: { name },
        spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx:1.19' }] } } },
      };
      eventLatency.push(
        ...(await deliveries(eventers, (t) => t.includes(`"name":"${name}"`) && t.includes('ScalingReplicaSet'), () =>
          http.request('POST', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`, { body }),
        )),
      );
    }

    // Stalled readers: they stop reading, then 30 configmaps of 100 kB go to every watcher.
    const stalled: Client[] = [];
    for (let i = 0; i < STALLED; i++) stalled.push(await connect(watchUrl));
    const closes = stalled.map((c) => new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code))));
    for (const client of stalled) (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(100_000);
    const bulkStarted = performance.now();
    const bulk = await deliveries(watchers, (t) => t.includes('"name":"big-29"'), async () => {
      for (let i = 0; i < 30; i++) await http.request('POST', `/api/v1/namespaces/${NAMESPACE}/configmaps`, { body: { metadata: { name: `big-${i}` }, data: { key: big } } });
    });
    const droppedWithin = await Promise.race([
      Promise.all(closes).then(() => performance.now() - bulkStarted),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000)),
    ]);
    const heap2 = heapMiB();
    const rss2 = rssMiB();
    const gauge = await fetch(`${zcloud.url}/metrics`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text());
    const open = [...gauge.matchAll(/zcloud_websocket_connections\{endpoint="([^"]+)"\} (\d+)/g)].map((m) => `${m[1]}=${m[2]}`).join(', ');

    const f = (n: number): string => n.toFixed(1);
    process.stdout.write(
      [
        `Run of ${new Date().toISOString().slice(0, 10)} (${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}).`,
        '',
        `| measure | value |`,
        `| --- | --- |`,
        `| sockets opened (${half} event + ${SOCKETS - half} watch), one after another | ${f(openMs)} ms |`,
        `| heap after GC: before → with ${SOCKETS} sockets | ${f(heap0)} → ${f(heap1)} MiB (${f(((heap1 - heap0) * 1024) / SOCKETS)} KiB per socket) |`,
        `| RSS: before → with ${SOCKETS} sockets | ${f(rss0)} → ${f(rss1)} MiB |`,
        `| configmap create → ADDED on all ${watchers.length} watchers (20 creates): p50 / p99 / max | ${f(percentile(changeLatency, 50))} / ${f(percentile(changeLatency, 99))} / ${f(percentile(changeLatency, 99.99))} ms |`,
        `| deployment create → its ScalingReplicaSet event on all ${eventers.length} event sockets (3 deployments): p50 / max | ${f(percentile(eventLatency, 50))} / ${f(percentile(eventLatency, 99.99))} ms |`,
        `| 30 × 100 kB configmaps to ${watchers.length} readers + ${STALLED} stalled: last one on every reader, p50 / max | ${f(percentile(bulk, 50))} / ${f(percentile(bulk, 99.99))} ms |`,
        `| stalled readers dropped (close codes) | ${droppedWithin === undefined ? 'NOT within 30 s' : `all ${STALLED} within ${f(droppedWithin)} ms`} (${(await Promise.race([Promise.all(closes), Promise.resolve([])])).join(', ')}) |`,
        `| heap after GC / RSS after the bulk and the drops | ${f(heap2)} MiB / ${f(rss2)} MiB |`,
        `| zcloud_websocket_connections after | ${open} |`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const client of clients) client.ws.terminate();
    await zcloud.close();
    await destroy(CLUSTER);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
