/**
 * Load on the streams: 200 concurrent sockets (100 event streams, 100 resumable watches of a
 * configmap collection) on one in-process zcloud, then 10 stalled readers.
 *
 *   node --expose-gc --import tsx bench/streams.ts [sockets=200] [stalled=10]
 *
 * Brings up a test-world cluster `bench-streams` (1 node), imports it, and measures: heap and
 * RSS per open socket; delivery latency of a change to every watcher and of a new
 * deployment's event to every event socket; then, with `stalled` clients that stop reading
 * while 15 MB is sent to each, when they are dropped (the connection gauge), the healthy
 * watchers' latency meanwhile, and the heap after.
 * Destroys the cluster. Prints markdown for docs/benchmarks.md.
 */
import WebSocket from 'ws';
import { heapMiB, percentile, rssMiB, runBench, runLine, startBenchWorld } from './measure.js';

const SOCKETS = Number(process.argv[2] ?? 200);
const STALLED = Number(process.argv[3] ?? 10);
const CLUSTER = 'bench-streams';
const NAMESPACE = 'bench';
const BIG_NAMESPACE = 'bench-big';
const ADMIN_SHA1 = '0192309fba8c6f0929b5b00867ebccac9a39e34e';

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

async function main(): Promise<void> {
  const { kubeconfig, http, zcloud, close } = await startBenchWorld(CLUSTER);
  const clients: Client[] = [];
  try {
    await http.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } } });
    const runtime = await zcloud.services.clusters.register(CLUSTER, kubeconfig);
    while (!runtime.available) await new Promise((r) => setTimeout(r, 50));
    const token = await zcloud.services.users.login('admin', ADMIN_SHA1, 3_600_000, 'bench', 'zcloud');
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
    /** Creates `count` small configmaps one by one; ms until each reached every watcher. */
    const smallChanges = async (prefix: string, count: number): Promise<number[]> => {
      const samples: number[] = [];
      for (let i = 0; i < count; i++) {
        const name = `${prefix}-${i}`;
        const create = () => http.request('POST', `/api/v1/namespaces/${NAMESPACE}/configmaps`, { body: { metadata: { name }, data: { key: 'v' } } });
        samples.push(...(await deliveries(watchers, (t) => t.includes(`"name":"${name}"`), create)));
      }
      return samples;
    };
    const changeLatency = await smallChanges('cm', 20);
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

    // Stalled readers: 10 clients watch another namespace and stop reading; 15 MB of
    // configmaps go there while the 100 healthy watchers keep getting small changes.
    const gaugeOf = async (endpoint: string): Promise<number> => {
      const text = await fetch(`${zcloud.url}/metrics`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text());
      return Number(new RegExp(`zcloud_websocket_connections\\{endpoint="${endpoint}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);
    };
    await http.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: BIG_NAMESPACE } } });
    const bigUrl = `${base}/watch?url=${encodeURIComponent(`/apis/zcloud.cn/v1/clusters/${CLUSTER}/namespaces/${BIG_NAMESPACE}/configmaps`)}&token=${token}`;
    const stalled: Client[] = [];
    for (let i = 0; i < STALLED; i++) stalled.push(await connect(bigUrl));
    for (const client of stalled) (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const watchersBefore = await gaugeOf('/watch');
    const big = 'x'.repeat(100_000);
    const bulkStarted = performance.now();
    let droppedMs: number | undefined;
    const bulk = (async () => {
      for (let i = 0; i < 150; i++) {
        await http.request('POST', `/api/v1/namespaces/${BIG_NAMESPACE}/configmaps`, { body: { metadata: { name: `big-${i}` }, data: { key: big } } });
        if (droppedMs === undefined && (await gaugeOf('/watch')) === watchersBefore - STALLED) droppedMs = performance.now() - bulkStarted;
      }
    })();
    const duringStall = await smallChanges('during', 5);
    await bulk;
    const bulkMs = performance.now() - bulkStarted;
    const heap2 = heapMiB();
    const rss2 = rssMiB();
    const gauge = await fetch(`${zcloud.url}/metrics`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text());
    const open = [...gauge.matchAll(/zcloud_websocket_connections\{endpoint="([^"]+)"\} (\d+)/g)].map((m) => `${m[1]}=${m[2]}`).join(', ');
    for (const client of stalled) client.ws.terminate();

    const f = (n: number): string => n.toFixed(1);
    process.stdout.write(
      [
        runLine(),
        '',
        `| measure | value |`,
        `| --- | --- |`,
        `| sockets opened (${half} event + ${SOCKETS - half} watch), one after another | ${f(openMs)} ms |`,
        `| heap after GC: before → with ${SOCKETS} sockets | ${f(heap0)} → ${f(heap1)} MiB (${f(((heap1 - heap0) * 1024) / SOCKETS)} KiB per socket) |`,
        `| RSS: before → with ${SOCKETS} sockets | ${f(rss0)} → ${f(rss1)} MiB |`,
        `| configmap create → ADDED on all ${watchers.length} watchers (20 creates): p50 / p99 / max | ${f(percentile(changeLatency, 50))} / ${f(percentile(changeLatency, 99))} / ${f(percentile(changeLatency, 99.99))} ms |`,
        `| deployment create → its ScalingReplicaSet event on all ${eventers.length} event sockets (3 deployments): p50 / max | ${f(percentile(eventLatency, 50))} / ${f(percentile(eventLatency, 99.99))} ms |`,
        `| ${STALLED} stalled readers sent 150 × 100 kB configmaps (${f(bulkMs / 1000)} s): all dropped (gauge) after | ${droppedMs === undefined ? 'NOT dropped' : `${f(droppedMs)} ms`} |`,
        `| meanwhile, configmap create → ADDED on all ${watchers.length} healthy watchers (5 creates): p50 / max | ${f(percentile(duringStall, 50))} / ${f(percentile(duringStall, 99.99))} ms |`,
        `| heap after GC / RSS after the stall | ${f(heap2)} MiB / ${f(rss2)} MiB |`,
        `| zcloud_websocket_connections after | ${open} |`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const client of clients) client.ws.terminate();
    await close();
  }
}

runBench(main);
