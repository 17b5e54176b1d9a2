import { createInterface } from 'node:readline';
import { readAll, toKubeApiError, type KubeHttp } from './kube-http.js';

/** One container of one pod. */
export interface ContainerRef {
  namespace: string;
  pod: string;
  container: string;
}

export interface LogFollowOptions {
  /** Start with the last this many lines (default: the whole log). */
  tailLines?: number;
  /** Start with the lines of the last this many seconds. */
  sinceSeconds?: number;
}

/**
 * Follows `ref`'s log through the apiserver (`pods/log?follow=true`, which the kubelet serves),
 * handing each line (without its newline) to `onLine`. Resolves when the log ends: the
 * container ended, or `signal` aborted. A refusal (404 pod, 400 container waiting) rejects with
 * the apiserver's KubeApiError.
 */
export async function followContainerLog(
  http: KubeHttp,
  ref: ContainerRef,
  options: LogFollowOptions,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const path = `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/pods/${encodeURIComponent(ref.pod)}/log`;
  const query = { container: ref.container, follow: true, tailLines: options.tailLines, sinceSeconds: options.sinceSeconds };
  let res;
  try {
    res = await http.open('GET', path, { query, signal });
  } catch (err) {
    if (signal.aborted) return;
    throw err;
  }
  if (res.statusCode !== 200) {
    const text = await readAll(res);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
    throw toKubeApiError(res.statusCode ?? 0, body, `log of ${ref.namespace}/${ref.pod}/${ref.container}`);
  }
  const lines = createInterface({ input: res, crlfDelay: Infinity });
  try {
    for await (const line of lines) onLine(line);
  } catch (err) {
    // An abort cuts the response mid-stream: that is the end we asked for.
    if (!signal.aborted) throw err;
  } finally {
    lines.close();
    res.destroy();
  }
}
