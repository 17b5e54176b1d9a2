import type { Pod } from './kube-types.js';

/**
 * The simulated containers' output. A running container writes one line every `intervalMs`
 * from its start: line n at `startedAt + n × intervalMs`, reading `<time> <container> line <n>`.
 * Nothing is stored: the log is a function of the container's run, so any part of it can be
 * served (tail, since) and followed for any number of readers at no cost per container.
 */

/** The current run of a container: started, and finished once it terminated. */
export interface ContainerRun {
  container: string;
  startedAt: number;
  finishedAt?: number;
}

/** What the kubelet's `containerLogs` takes. */
export interface LogOptions {
  follow: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  timestamps: boolean;
}

/** A container that has no log to serve, in the kubelet's words. */
export class NoLogError extends Error {
  override readonly name = 'NoLogError';
}

/** The run of `container` in `pod` as its status tells it; throws NoLogError when it never ran. */
export function containerRun(pod: Pod, container: string): ContainerRun {
  const where = `container "${container}" in pod "${pod.metadata.name}"`;
  if (!pod.spec.containers.some((c) => c.name === container)) throw new NoLogError(`${where} is not valid`);
  const status = pod.status?.containerStatuses?.find((s) => s.name === container);
  const { running, terminated, waiting } = status?.state ?? {};
  if (running) return { container, startedAt: Date.parse(running.startedAt) };
  if (terminated) return { container, startedAt: Date.parse(terminated.startedAt), finishedAt: Date.parse(terminated.finishedAt) };
  throw new NoLogError(`${where} is waiting to start${waiting ? `: ${waiting.reason}` : ''}`);
}

/** How many lines `run` has written by `now`. */
export function linesWritten(run: ContainerRun, now: number, intervalMs: number): number {
  const end = Math.min(now, run.finishedAt ?? now);
  return Math.max(0, Math.floor((end - run.startedAt) / intervalMs));
}

export function lineTime(run: ContainerRun, n: number, intervalMs: number): number {
  return run.startedAt + n * intervalMs;
}

/** Line `n` (from 1) as the container wrote it, prefixed with its RFC 3339 time when `timestamps`. */
export function logLine(run: ContainerRun, n: number, intervalMs: number, timestamps: boolean): string {
  const time = new Date(lineTime(run, n, intervalMs)).toISOString();
  return `${timestamps ? `${time} ` : ''}${time} ${run.container} line ${n}\n`;
}

/** The first line number to serve at `now`: after `sinceSeconds` and within the last `tailLines`. */
export function firstLine(run: ContainerRun, now: number, intervalMs: number, options: LogOptions): number {
  const written = linesWritten(run, now, intervalMs);
  let first = 1;
  if (options.sinceSeconds !== undefined) {
    const since = now - options.sinceSeconds * 1000;
    first = Math.max(first, Math.ceil((since - run.startedAt) / intervalMs));
  }
  if (options.tailLines !== undefined) first = Math.max(first, written - options.tailLines + 1);
  return first;
}
