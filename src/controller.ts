import type { Logger } from './logger.js';
import { WorkQueue, type WorkQueueOptions } from './work-queue.js';

/** What a reconcile asks for next. */
export interface Result {
  /** Poll again after this many ms (waiting on the outside world). Absent: forget the key. */
  requeueAfterMs?: number;
}

/** A failure retrying cannot fix (bad spec): recorded by the reconciler, not retried. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/**
 * Drives the object at `key` one step toward its desired state.
 * Throw: retried with per-key backoff. Throw TerminalError: not retried.
 * Return `{ requeueAfterMs }`: polled again after that delay. Return `{}`: forgotten until
 * something enqueues the key again.
 */
export interface Reconciler {
  reconcile(key: string, signal: AbortSignal): Promise<Result>;
}

export interface ControllerOptions extends WorkQueueOptions {
  name: string;
  reconciler: Reconciler;
  logger: Logger;
  /** Keys processed in parallel (never the same key twice at once). Default 1. */
  workers?: number;
}

/** Runs a reconciler over a work queue. The one place the Result contract becomes queue calls. */
export class Controller {
  readonly queue: WorkQueue;
  readonly name: string;
  readonly #reconciler: Reconciler;
  readonly #logger: Logger;
  readonly #workers: number;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.queue = new WorkQueue(options);
    this.#reconciler = options.reconciler;
    this.#logger = options.logger;
    this.#workers = options.workers ?? 1;
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Processes keys until `signal` aborts; then lets in-flight reconciles finish. */
  async run(signal: AbortSignal): Promise<void> {
    const stop = (): void => this.queue.shutDown();
    if (signal.aborted) stop();
    signal.addEventListener('abort', stop, { once: true });
    const workers = Array.from({ length: this.#workers }, () => this.work(signal));
    await Promise.all(workers);
  }

  private async work(signal: AbortSignal): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      try {
        const result = await this.#reconciler.reconcile(key, signal);
        this.queue.forget(key);
        if (result.requeueAfterMs !== undefined && !signal.aborted) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        if (err instanceof TerminalError) {
          this.queue.forget(key);
          this.#logger.warn('reconcile failed for good', { controller: this.name, key, error: err.message });
        } else if (!signal.aborted) {
          const delay = this.queue.addRateLimited(key);
          this.#logger.warn('reconcile failed, retrying', { controller: this.name, key, error: (err as Error).message, retryInMs: delay });
        }
      } finally {
        this.queue.done(key);
      }
    }
  }
}
