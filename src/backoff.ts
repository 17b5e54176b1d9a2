/**
 * Exponential backoff with full jitter. Defaults (1 s doubling to 30 s) follow client-go's
 * reflector: quick enough to notice a restarted apiserver, slow enough not to hammer a down one.
 */
export class Backoff {
  #attempt = 0;
  constructor(
    private readonly initialMs = 1000,
    private readonly maxMs = 30_000,
  ) {}

  /** Delay before the next retry: uniform in [cap/2, cap] of the current step. */
  next(): number {
    const cap = Math.min(this.maxMs, this.initialMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return cap / 2 + Math.random() * (cap / 2);
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after `ms`, or early (without error) when `signal` aborts or `wake` fires. */
export function sleep(ms: number, signal?: AbortSignal, wake?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || wake?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      wake?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    wake?.addEventListener('abort', done, { once: true });
  });
}
