/** What the stream benches share: the world they run in, memory after GC, percentiles, the machine line, running main. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { destroy, up } from '../scripts/testenv/cluster.js';
import { ensure } from '../scripts/testenv/ensure.js';
import { startZcloud } from '../server/zcloud.js';
import { loadConfig } from '../src/config.js';
import { KubeHttp } from '../src/kube/kube-http.js';

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap in use after three full GCs (needs `node --expose-gc`), MiB. */
export function heapMiB(): number {
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

export function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** The `p`th percentile of `samples` (nearest rank; 100 is the maximum). */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** "Run of <date> (<cores> × <cpu>, <memory>, Node <version>)." */
export function runLine(): string {
  return `Run of ${new Date().toISOString().slice(0, 10)} (${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}).`;
}

/** Runs a bench's main and exits with its outcome (open sockets and clients would keep the process up). */
export function runBench(main: () => Promise<void>): void {
  if (!gc) throw new Error('run with node --expose-gc');
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

/** A fresh one-node test-world cluster and an in-process zcloud (not yet told of the cluster). */
export interface BenchWorld {
  kubeconfig: string;
  /** Admin access to the cluster's apiserver. */
  http: KubeHttp;
  zcloud: Awaited<ReturnType<typeof startZcloud>>;
  /** Stops zcloud and destroys the cluster. */
  close(): Promise<void>;
}

export async function startBenchWorld(cluster: string): Promise<BenchWorld> {
  await ensure();
  await destroy(cluster);
  const info = await up(cluster, { nodes: 1 });
  const kubeconfig = readFileSync(info.kubeconfigPath, 'utf8');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'zcloud-bench-'));
  const config = loadConfig({ PORT: '0', ZCLOUD_LISTEN_HOST: '127.0.0.1', ZCLOUD_DATA_DIR: dataDir, ZCLOUD_LOG_LEVEL: 'error' });
  const zcloud = await startZcloud(config, { logStream: new PassThrough() });
  return {
    kubeconfig,
    http: KubeHttp.fromYaml(kubeconfig),
    zcloud,
    async close() {
      await zcloud.close();
      await destroy(cluster);
    },
  };
}
