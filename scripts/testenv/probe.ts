import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CertPair } from './pki.js';

export interface ProbeResponse {
  status: number;
  body: string;
}

/** TLS material for https probes: the CA to trust and the client identity to present. */
export interface ProbeTls {
  caPath: string;
  client: CertPair;
}

/** Per-request limit: a health endpoint that takes longer than this counts as not healthy. */
const requestTimeoutMs = 2_000;

/** One GET; rejects on connection errors and timeouts, resolves with any HTTP status. */
export function get(url: string, tls?: ProbeTls): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    const options = tls
      ? { ca: readFileSync(tls.caPath), cert: readFileSync(tls.client.cert), key: readFileSync(tls.client.key) }
      : {};
    const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { ...options, timeout: requestTimeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: no answer within ${requestTimeoutMs} ms`)));
    request.on('error', reject);
    request.end();
  });
}

export interface WaitOptions {
  /** What is awaited, for the error message: "kube-apiserver of cluster a to be ready". */
  what: string;
  withinMs: number;
  intervalMs?: number;
  /** Checked between attempts: when it returns a reason, waiting stops early (e.g. the process died). */
  abortReason?: () => string | undefined;
}

/**
 * Polls `check` until it returns true, at most `withinMs`. On timeout the error names what
 * was awaited and the last reason `check` failed (its thrown error, or "not yet").
 */
export async function waitUntil(check: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.withinMs;
  let last = 'not yet';
  for (;;) {
    try {
      if (await check()) return;
      last = 'not yet';
    } catch (err) {
      last = (err as Error).message;
    }
    const abort = options.abortReason?.();
    if (abort) throw new Error(`gave up waiting for ${options.what}: ${abort}`);
    if (Date.now() >= deadline) throw new Error(`timed out after ${options.withinMs} ms waiting for ${options.what}: ${last}`);
    await sleep(options.intervalMs ?? 100);
  }
}
