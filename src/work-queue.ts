import type { QueueState, WorkQueueMetrics } from './metrics.js';

export interface WorkQueueOptions {
  /** First retry delay of a failing key; doubles per failure. Default 500 ms. */
  baseDelayMs?: number;
  /** Longest retry delay. Default 60 s. */
  maxDelayMs?: number;
}

/**
 * A queue of keys (never events), after client-go's workqueue:
 * - adding a key that is already waiting merges the two adds (dedupe);
 * - a key is handed to one worker at a time; a key added while it is being processed is queued
 *   again when the worker calls `done`;
 * - `addRateLimited` delays a key by its own exponential backoff; `forget` resets it;
 * - `shutDown` stops accepting keys; `get` then drains what is queued and returns undefined.
 */
export class WorkQueue implements QueueState {
  readonly #queue: string[] = [];
  /** When each waiting key was queued, for the queue-duration metric. */
  readonly #queuedAt = new Map<string, number>();
  /** When each key being processed was handed out, for the work-duration and in-flight metrics. */
  readonly #processingSince = new Map<string, number>();
  readonly #metrics: WorkQueueMetrics | undefined;
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #waiters: Array<(key: string | undefined) => void> = [];
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  #shuttingDown = false;

  /** `observe`, if given, builds the metrics hooks of this queue (see ZcloudMetrics.workQueue). */
  constructor(options: WorkQueueOptions = {}, observe?: (queue: QueueState) => WorkQueueMetrics) {
    this.#baseDelayMs = options.baseDelayMs ?? 500;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
    this.#metrics = observe?.(this);
  }

  processingSince(): Iterable<number> {
    return this.#processingSince.values();
  }

  get length(): number {
    return this.#queue.length;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    // Counted like client-go: an add merged into a waiting one is not an add.
    this.#metrics?.added();
    this.enqueue(key);
  }

  /** Queues `key`, not dirty yet; held back while it is processing (`done` queues it then). */
  private enqueue(key: string): void {
    this.#dirty.add(key);
    if (!this.#queuedAt.has(key)) this.#queuedAt.set(key, Date.now());
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#dirty.delete(key);
      this.startProcessing(key);
      waiter(key);
    } else this.#queue.push(key);
  }

  private startProcessing(key: string): void {
    const now = Date.now();
    this.#processing.add(key);
    this.#processingSince.set(key, now);
    const queuedAt = this.#queuedAt.get(key);
    this.#queuedAt.delete(key);
    if (queuedAt !== undefined) this.#metrics?.waited(now - queuedAt);
  }

  /** Adds `key` after `delayMs`; of several pending delays for one key the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delayMs);
    this.#timers.set(key, { at, timer });
  }

  /** Re-adds a failed key after its backoff: base · 2^(failures-1), capped. */
  addRateLimited(key: string): number {
    this.#metrics?.retried();
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    const delay = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (failures - 1));
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to process, or undefined once shut down and drained. Call `done` after. */
  get(): Promise<string | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.startProcessing(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    const since = this.#processingSince.get(key);
    this.#processingSince.delete(key);
    if (since !== undefined) this.#metrics?.worked(Date.now() - since);
    if (!this.#dirty.has(key)) return;
    this.#dirty.delete(key);
    if (!this.#shuttingDown) this.enqueue(key);
  }

  shutDown(): void {
    this.#shuttingDown = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}
