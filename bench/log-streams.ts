/**
 * Load on the container log stream: `sockets` log sockets following `pods` containers (the
 * same number on each) on one in-process zcloud, each one a follow through the apiserver to the
 * test world's simulated kubelet.
 *
 *   node --expose-gc --import tsx bench/log-streams.ts [sockets=200] [pods=20] [seconds=10]
 *
 * Brings up a test-world cluster `sh-bench-logs` (1 node), imports it, starts the pods, opens the
 * sockets one after another and measures: the time to open them, heap and RSS per open socket,
 * and for `seconds` the delay from a line's time (in its text) to its arrival on each socket,
 * and whether every socket got every line. Destroys the cluster. Prints markdown for
 * docs/benchmarks.md.
 */
import WebSocket from 'ws';
import { heapMiB, percentile, rssMiB, runBench, runLine, startBenchWorld } from './measure.js';

const SOCKETS = Number(process.argv[2] ?? 200);
const PODS = Number(process.argv[3] ?? 20);
const SECONDS = Number(process.argv[4] ?? 10);
const CLUSTER = 'sh-bench-logs';
const NAMESPACE = 'bench';
const ADMIN_SHA1 = '0192309fba8c6f0929b5b00867ebccac9a39e34e';

interface Follower {
  ws: WebSocket;
  /** Line number → the line's time (in its text) and when it arrived, epoch ms. */
  lines: Map<number, { written: number; arrived: number }>;
}

async function follow(url: string): Promise<Follower> {
  const ws = new WebSocket(url);
  const follower: Follower = { ws, lines: new Map() };
  ws.on('message', (data) => {
    const match = /^(\S+) \S+ line (\d+)$/.exec(data.toString());
    if (match) follower.lines.set(Number(match[2]), { written: Date.parse(match[1]!), arrived: Date.now() });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  return follower;
}

async function main(): Promise<void> {
  const { kubeconfig, http, zcloud, close } = await startBenchWorld(CLUSTER);
  const followers: Follower[] = [];
  try {
    await http.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } } });
    const names = Array.from({ length: PODS }, (_, i) => `talker-${i}`);
    for (const name of names) {
      await http.request('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, { body: { metadata: { name }, spec: { containers: [{ name: 'app', image: 'busybox:1.35' }] } } });
    }
    const runtime = await zcloud.services.clusters.register(CLUSTER, kubeconfig);
    while (!runtime.available) await new Promise((r) => setTimeout(r, 50));
    for (;;) {
      const pods = await http.request<{ items: { status?: { phase?: string } }[] }>('GET', `/api/v1/namespaces/${NAMESPACE}/pods`);
      if (pods.items.filter((p) => p.status?.phase === 'Running').length === PODS && runtime.cache.informer('pods')!.store.list().length >= PODS) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const token = await zcloud.services.users.login('admin', ADMIN_SHA1, 3_600_000, 'bench', 'zcloud');
    const base = `${zcloud.url.replace(/^http/, 'ws')}/apis/ws.zcloud.cn/v1/clusters/${CLUSTER}/namespaces/${NAMESPACE}/pods`;

    const heap0 = heapMiB();
    const rss0 = rssMiB();
    const opened = performance.now();
    for (let i = 0; i < SOCKETS; i++) followers.push(await follow(`${base}/${names[i % PODS]}/containers/app/log?tailLines=0&token=${token}`));
    const openMs = performance.now() - opened;
    const measuredFrom = Date.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const measuredTo = Date.now();
    const heap1 = heapMiB();
    const rss1 = rssMiB();

    // The lines written in the window (all sockets open, last second left for delivery): each
    // socket should have every one of its container's; delays of those that came.
    const delays: number[] = [];
    let expected = 0;
    for (const follower of followers) {
      const lines = [...follower.lines.values()];
      const first = Math.min(...[...follower.lines.keys()]);
      const firstTime = follower.lines.get(first)!.written;
      // Lines are a second apart: those due in the window, from the socket's first line on.
      const due = (t: number): number => Math.floor((t - firstTime) / 1000);
      expected += due(measuredTo - 1000) - Math.max(0, Math.ceil((measuredFrom - firstTime) / 1000)) + 1;
      delays.push(...lines.filter((l) => l.written >= measuredFrom && l.written <= measuredTo - 1000).map((l) => l.arrived - l.written));
    }
    const missing = expected - delays.length;
    const open = followers.filter((f) => f.ws.readyState === WebSocket.OPEN).length;
    const f = (n: number): string => n.toFixed(1);
    process.stdout.write(
      [
        runLine(),
        '',
        '| measure | value |',
        '| --- | --- |',
        `| log sockets opened (${SOCKETS} over ${PODS} containers, ${SOCKETS / PODS} each), one after another | ${f(openMs)} ms (${f(openMs / SOCKETS)} ms each) |`,
        `| heap after GC: before → with ${SOCKETS} log sockets | ${f(heap0)} → ${f(heap1)} MiB (${f(((heap1 - heap0) * 1024) / SOCKETS)} KiB per socket) |`,
        `| RSS: before → with ${SOCKETS} log sockets | ${f(rss0)} → ${f(rss1)} MiB |`,
        `| lines written in ${f((measuredTo - measuredFrom) / 1000 - 1)} s with every socket open (1 line/s per container) → received over all sockets | ${delays.length} of ${expected} (${missing} missing) |`,
        `| line written → on the socket: p50 / p99 / max | ${f(percentile(delays, 50))} / ${f(percentile(delays, 99))} / ${f(percentile(delays, 100))} ms |`,
        `| sockets still open at the end | ${open} of ${SOCKETS} |`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const follower of followers) follower.ws.terminate();
    await close();
  }
}

runBench(main);
