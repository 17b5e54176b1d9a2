import type { ClusterManager } from './clusters/cluster-manager.js';
import type { KubeObject } from './kube/kube-object.js';
import type { CachedKindName } from './kube/resource-kind.js';
import type { Logger } from './logger.js';
import type { Runnable } from './manager.js';
import type { ReconcileResult, ZcloudMetrics } from './metrics.js';
import type { CollectionDef, Store } from './store/store.js';
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

/** What a key-mapping function returns: the keys to reconcile, if any. */
export type Keys = string | readonly string[] | undefined;

/**
 * What a controller declares it reacts to, in its own `watch`. Every source only enqueues keys;
 * the reconciler then reads the state it needs itself (level-based).
 */
export interface Watches {
  /** Every change of `kind` objects in any cluster, attached now or later. */
  objects(kind: CachedKindName, map: (cluster: string, object: KubeObject) => Keys): void;
  /** A cluster attached (at start-up, imported, provisioned) or detached. */
  clusters(map: (event: 'attached' | 'detached', cluster: string) => Keys): void;
  /** Keys to look at once when the controller starts, so work cut short by a restart resumes. */
  initial(list: () => Promise<Keys>): void;
  /**
   * Every stored change of a `def` record, also one another replica made (the kubernetes
   * store); a no-op on a store only this process writes, whose writers enqueue themselves.
   */
  records(def: CollectionDef, map: (id: string) => Keys): void;
}

/** One controller as its file declares it; registered with `Manager` in one line. */
export interface ControllerDefinition extends WorkQueueOptions {
  name: string;
  reconciler: Reconciler;
  /** Keys processed in parallel (never the same key twice at once). Default 1. */
  workers?: number;
  /** Declares the sources of keys. */
  watch?(watches: Watches): void;
}

export interface ControllerOptions extends ControllerDefinition {
  logger: Logger;
  /** The source of object and cluster events for `watch`. */
  clusters?: ClusterManager;
  /** The source of record changes for `watch`. */
  store?: Store;
  /** Where the queue's and the reconciles' metrics go (label: the controller's name). */
  metrics?: ZcloudMetrics;
}

/**
 * Runs a reconciler over a work queue. The one place the Result contract becomes queue calls.
 * As a Runnable it subscribes to what the definition watches when constructed (so nothing that
 * happens before start is missed: the queue holds the keys), enqueues the initial keys at start,
 * and on stop shuts the queue, lets in-flight reconciles finish (they see the aborted signal)
 * and unsubscribes.
 */
export class Controller implements Runnable {
  readonly queue: WorkQueue;
  readonly name: string;
  readonly #reconciler: Reconciler;
  readonly #logger: Logger;
  readonly #workers: number;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #initial: Array<() => Promise<Keys>> = [];
  readonly #metrics: ZcloudMetrics | undefined;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    const metrics = options.metrics;
    this.#metrics = metrics;
    this.queue = new WorkQueue(options, metrics && ((queue) => metrics.workQueue(options.name, queue)));
    this.#reconciler = options.reconciler;
    this.#logger = options.logger;
    this.#workers = options.workers ?? 1;
    options.watch?.(this.watches(options.clusters, options.store));
  }

  enqueue(keys: Keys): void {
    if (keys === undefined) return;
    for (const key of typeof keys === 'string' ? [keys] : keys) this.queue.add(key);
  }

  /** Processes keys until `signal` aborts; then lets in-flight reconciles finish. */
  async start(signal: AbortSignal): Promise<void> {
    const stop = (): void => this.queue.shutDown();
    if (signal.aborted) stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for (const list of this.#initial) this.enqueue(await list());
      const workers = Array.from({ length: this.#workers }, () => this.work(signal));
      await Promise.all(workers);
    } finally {
      for (const off of this.#unsubscribe) off();
    }
  }

  private watches(clusters: ClusterManager | undefined, store: Store | undefined): Watches {
    const source = (): ClusterManager => {
      if (!clusters) throw new Error(`controller ${this.name} watches clusters but was given no cluster manager`);
      return clusters;
    };
    return {
      objects: (kind, map) => {
        this.#unsubscribe.push(source().onObjectEvent(kind, (cluster, event) => this.enqueue(map(cluster, event.object))));
      },
      clusters: (map) => {
        this.#unsubscribe.push(source().on((event, cluster) => this.enqueue(map(event, cluster))));
      },
      initial: (list) => {
        this.#initial.push(list);
      },
      records: (def, map) => {
        if (!store) throw new Error(`controller ${this.name} watches records but was given no store`);
        const off = store.watch?.(def, (id) => this.enqueue(map(id)));
        if (off) this.#unsubscribe.push(off);
      },
    };
  }

  private async work(signal: AbortSignal): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      // Stopping: keys still queued are dropped, not started; the next start looks at everything again.
      if (signal.aborted) {
        this.queue.done(key);
        continue;
      }
      const started = performance.now();
      let outcome: ReconcileResult = 'error';
      try {
        const result = await this.#reconciler.reconcile(key, signal);
        outcome = result.requeueAfterMs !== undefined ? 'requeue' : 'success';
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
        this.#metrics?.reconcileTotal.inc({ controller: this.name, result: outcome });
        this.#metrics?.reconcileTime.observe({ controller: this.name }, (performance.now() - started) / 1000);
        this.queue.done(key);
      }
    }
  }
}
