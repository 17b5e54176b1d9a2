/**
 * Listeners by key (a cluster, a cluster and kind): what every live stream subscribes through.
 * A listener added twice is called twice and removed one at a time. Listeners run on the
 * publisher's path (often the watch path): they must only queue and return.
 */
export class Topics<T> {
  readonly #listeners = new Map<string, Set<(value: T) => void>>();

  /** Calls `listener` with every later value published under `key`; returns the unsubscribe. */
  listen(key: string, listener: (value: T) => void): () => void {
    let listeners = this.#listeners.get(key);
    if (!listeners) this.#listeners.set(key, (listeners = new Set()));
    const entry = (value: T): void => listener(value);
    listeners.add(entry);
    return () => {
      listeners.delete(entry);
      if (listeners.size === 0 && this.#listeners.get(key) === listeners) this.#listeners.delete(key);
    };
  }

  publish(key: string, value: T): void {
    for (const listener of this.#listeners.get(key) ?? []) listener(value);
  }
}
