/**
 * The comparisons of issue 20, measured side by side in one run:
 *
 * - the full list of N Running pods (one deployment, full status) through zcloud.cn, next to
 *   kube-apiserver's LIST `resourceVersion=0` of the same pods and next to a bare Node server
 *   (started here) answering the very same bytes' objects with one JSON.stringify;
 * - RSS and heap per cached Running pod;
 * - authenticated GET of one cached namespace, req/s (autocannon, 32 connections), next to a
 *   bare Express "hello" on the same machine.
 *
 *   node --expose-gc --import tsx bench/cache-vs-apiserver.ts [pods=10000] [rounds=10]
 *
 * The pods are made fast and steady: a Deployment is created, kube-controller-manager stopped
 * once its ReplicaSet exists (so nothing deletes or adds pods), then N pods owned by that
 * ReplicaSet are created already bound to simulated nodes, which report them Running with
 * full status. The cluster `bench` is destroyed at the end. Exits non-zero only when it
 * cannot measure.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { Agent, createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import express from 'express';
import { destroy } from '../scripts/testenv/cluster.js';
import { createRunningPods, freshBenchCluster, nodesFor, sleep, stopControllersWhenNamespaceReady } from './bound-pods.js';
import { loadConfig } from '../src/config.js';
import { readAll } from '../src/kube/kube-http.js';
import { ADMIN_DEFAULT_SHA1 } from '../src/users.js';
import { startZcloud } from '../server/zcloud.js';

const POD_COUNT = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 10);
const CLUSTER = 'bench';
const NAMESPACE = 'bench';
const NODES = nodesFor(POD_COUNT);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function settle(): void {
  for (let i = 0; i < 3; i++) gc!();
}


/** Pod i of the deployment's ReplicaSet: two containers, requests and limits, ports, env. */
function podOf(rs: { name: string; uid: string }, i: number): { metadata: object; spec: object } {
  return {
    metadata: {
      name: `web-${String(i).padStart(6, '0')}`,
      labels: { app: 'web', tier: 'frontend', release: 'bench', 'pod-template-hash': 'bench' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.name, uid: rs.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'registry.local/team/web:1.2.3',
          args: ['--port=8080', '--verbose'],
          env: [{ name: 'MODE', value: 'production' }],
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
        },
        { name: 'sidecar', image: 'registry.local/team/proxy:0.9', ports: [{ containerPort: 9090, protocol: 'TCP' }] },
      ],
    },
  };
}

interface Timing {
  p50: number;
  max: number;
  bytes: number;
}

async function time(rounds: number, fn: () => Promise<number>): Promise<Timing> {
  const samples: number[] = [];
  let bytes = await fn(); // warm-up
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    bytes = await fn();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(samples.length / 2)], max: samples[samples.length - 1], bytes };
}

const agent = new Agent({ keepAlive: true });

/** The whole body of a GET as bytes received on the wire (nothing decoded or parsed: the same work for every side). */
function fetchBytes(url: string, headers: Record<string, string> = {}, expectStatus = 200): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers, agent }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => (res.statusCode === expectStatus ? resolve(bytes) : reject(new Error(`${url}: ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * req/s of GET `url` over 32 connections for `seconds`, from autocannon in its own process, and
 * this process's CPU per request meanwhile (steadier than req/s on a shared machine: both
 * servers measured run in this process).
 */
async function requestsPerSecond(url: string, headers: Record<string, string>, seconds = 10): Promise<{ rps: number; non2xx: number; cpuUsPerRequest: number }> {
  const args = ['autocannon', '-c', '32', '-d', String(seconds), '-j'];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`);
  args.push(url);
  const cpuBefore = process.cpuUsage();
  const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = readAll(child.stdout as unknown as import('node:http').IncomingMessage);
  const [code] = (await once(child, 'exit')) as [number];
  const cpu = process.cpuUsage(cpuBefore);
  if (code !== 0) throw new Error(`autocannon exited ${code}`);
  const result = JSON.parse(await out) as { requests: { average: number; total: number }; non2xx: number };
  return { rps: result.requests.average, non2xx: result.non2xx, cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, result.requests.total) };
}

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

async function main(): Promise<void> {
  const { kubeconfig, kube } = await freshBenchCluster(CLUSTER, NODES);
  const servers: Server[] = [];
  try {
    await kube.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } } });
    await kube.request('POST', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`, {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'registry.local/team/web:1.2.3' }] } },
        },
      },
    });
    let rs: { name: string; uid: string } | undefined;
    for (let i = 0; i < 300 && !rs; i++) {
      const list = await kube.request<{ items: Array<{ metadata: { name: string; uid: string } }> }>('GET', `/apis/apps/v1/namespaces/${NAMESPACE}/replicasets`);
      rs = list.items[0]?.metadata;
      if (!rs) await sleep(200);
    }
    if (!rs) throw new Error('the deployment got no ReplicaSet');
    // From here nothing adds or removes pods but this script.
    await stopControllersWhenNamespaceReady(kube, CLUSTER, NAMESPACE);
    const took = await createRunningPods(kube, { cluster: CLUSTER, namespace: NAMESPACE, nodes: NODES, count: POD_COUNT, podOf: (i) => podOf(rs!, i) });
    process.stderr.write(`created ${POD_COUNT} pods on ${NODES - 1} simulated nodes in ${took.createSeconds.toFixed(1)} s, all Running ${took.runningSeconds.toFixed(1)} s later\n`);

    const dataDir = mkdtempSync(path.join(tmpdir(), 'zcloud-bench-'));
    const config = loadConfig({ PORT: '0', ZCLOUD_LISTEN_HOST: '127.0.0.1', ZCLOUD_DATA_DIR: dataDir, ZCLOUD_LOG_LEVEL: 'error' });
    const zcloud = await startZcloud(config, { logStream: new PassThrough() });
    try {
      settle();
      const before = process.memoryUsage();
      const runtime = await zcloud.services.clusters.register(CLUSTER, kubeconfig);
      const syncStarted = Date.now();
      while (!runtime.available) await sleep(50);
      const syncMs = Date.now() - syncStarted;
      await sleep(2000);
      settle();
      const after = process.memoryUsage();
      const cachedPods = runtime.cache.informer('pods')!.store.size;
      const rssPerPod = (after.rss - before.rss) / cachedPods;
      const heapPerPod = (after.heapUsed - before.heapUsed) / cachedPods;

      const token = await zcloud.services.users.login('admin', ADMIN_DEFAULT_SHA1, 3_600_000, 'bench', 'zcloud');
      const auth = { authorization: `Bearer ${token}` };
      const listUrl = `${zcloud.url}/apis/zcloud.cn/v1/clusters/${CLUSTER}/namespaces/${NAMESPACE}/deployments/web/pods`;
      const listed = JSON.parse(await (await fetch(listUrl, { headers: auth })).text()) as { data: unknown[] };
      if (listed.data.length !== POD_COUNT) throw new Error(`zcloud listed ${listed.data.length} pods, not ${POD_COUNT}`);

      // Same process, one at a time: zcloud, then the bare server with the same objects.
      const viaZcloud = await time(ROUNDS, () => fetchBytes(listUrl, auth));
      const gzipped = await time(ROUNDS, () => fetchBytes(listUrl, { ...auth, 'accept-encoding': 'gzip' }));
      const etag = (await fetch(listUrl, { headers: auth })).headers.get('etag') ?? '';
      const notModified = await time(ROUNDS, () => fetchBytes(listUrl, { ...auth, 'if-none-match': etag }, 304));
      const bare = createServer((_req, res) => {
        const body = JSON.stringify(listed);
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      servers.push(bare);
      const bareUrl = await listen(bare);
      const viaBare = await time(ROUNDS, () => fetchBytes(bareUrl));
      const loadAtLists = loadavg()[0];
      const apiserver = await time(ROUNDS, async () => {
        const res = await kube.open('GET', `/api/v1/namespaces/${NAMESPACE}/pods`, { query: { resourceVersion: '0' }, timeoutMs: 120_000 });
        return Buffer.byteLength(await readAll(res));
      });

      // Authenticated GET of one cached object, against bare Express answering a constant.
      const hello = express();
      hello.get('/', (_req, res) => void res.json({ hello: 'world' }));
      const helloServer = createServer(hello);
      servers.push(helloServer);
      const helloUrl = await listen(helloServer);
      const namespaceUrl = `${zcloud.url}/apis/zcloud.cn/v1/clusters/${CLUSTER}/namespaces/${NAMESPACE}`;
      const zcloudGets = await requestsPerSecond(namespaceUrl, auth);
      const expressGets = await requestsPerSecond(helloUrl, {});
      const loadAtGets = loadavg()[0];

      // Idle: nothing asked of zcloud for 30 s, the cluster quiet.
      const idleStarted = cpuSeconds();
      await sleep(30_000);
      const idleCpu = (cpuSeconds() - idleStarted) / 30;

      const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
      const ms = (t: Timing) => `${t.p50.toFixed(1)} ms (max ${t.max.toFixed(1)})`;
      const ratio = (a: number, b: number) => (a / b).toFixed(2);
      const lines = [
        `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; Kubernetes v1.20.2 test world; load average at the end ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}; ${new Date().toISOString().slice(0, 16)}Z.`,
        '',
        `${POD_COUNT} Running pods (2 containers, full status) of one deployment on ${NODES - 1} simulated nodes; zcloud first sync ${syncMs} ms; ${ROUNDS} rounds after a warm-up.`,
        '',
        `Load average (1 min) after the list rounds ${loadAtLists.toFixed(1)}, after the GETs ${loadAtGets.toFixed(1)}.`,
        '',
        '| measure | zcloud | reference | ratio | goal |',
        '| --- | --- | --- | --- | --- |',
        `| full pod list, zcloud.cn shape (${mib(viaZcloud.bytes)}) | ${ms(viaZcloud)} | kube-apiserver LIST \`resourceVersion=0\` (${mib(apiserver.bytes)}): ${ms(apiserver)} | ${ratio(viaZcloud.p50, apiserver.p50)} | ≤ 0.15 |`,
        `| same list vs one JSON.stringify of the same objects in a bare Node server | ${ms(viaZcloud)} | ${ms(viaBare)} | ${ratio(viaZcloud.p50, viaBare.p50)} | ≤ 1.0 |`,
        `| same list, gzip (${mib(gzipped.bytes)} on the wire) | ${ms(gzipped)} | — | — | — |`,
        `| same list, If-None-Match → 304 | ${ms(notModified)} | — | — | — |`,
        `| RSS per cached Running pod | ${(rssPerPod / 1024).toFixed(2)} KiB (heap ${(heapPerPod / 1024).toFixed(2)} KiB) | client-go ≈ 13–20 KB | — | ≤ 5 KB |`,
        `| authenticated GET of one cached namespace, req/s (autocannon, 32 connections, 10 s) | ${zcloudGets.rps.toFixed(0)} (non-2xx ${zcloudGets.non2xx}) | bare Express hello: ${expressGets.rps.toFixed(0)} | ${ratio(zcloudGets.rps, expressGets.rps)} | ≥ 0.7 |`,
        `| same GETs, CPU of the serving process per request | ${zcloudGets.cpuUsPerRequest.toFixed(0)} µs | bare Express hello: ${expressGets.cpuUsPerRequest.toFixed(0)} µs | ${ratio(expressGets.cpuUsPerRequest, zcloudGets.cpuUsPerRequest)} (inverse) | — |`,
        `| idle CPU of the whole process over 30 s (one cluster) | ${(idleCpu * 100).toFixed(2)} % of a core | — | — | — |`,
        '',
        `RSS / heap: ${mib(before.rss)} / ${mib(before.heapUsed)} before importing, ${mib(after.rss)} / ${mib(after.heapUsed)} with ${cachedPods} pods cached.`,
      ];
      console.log(lines.join('\n'));
    } finally {
      await zcloud.close();
    }
  } finally {
    for (const server of servers) server.close();
    agent.destroy();
    kube.close();
    await destroy(CLUSTER);
  }
}

await main();
