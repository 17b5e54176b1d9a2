import type { Logger } from '../logger.js';
import type { KubeHttp } from './kube-http.js';
import type { KubeObject } from './kube-object.js';
import { ObjectStore, type StoreEvent } from './object-store.js';
import { Reflector } from './reflector.js';
import type { ResourceKind } from './resource-kind.js';

export type EventHandler<T extends KubeObject> = (event: StoreEvent<T>) => void;

export interface InformerOptions {
  http: KubeHttp;
  kind: ResourceKind;
  logger: Logger;
  minWatchTimeoutSeconds?: number;
  pageSize?: number;
  labelSelector?: string;
  /** Only this namespace's objects; default: every namespace. */
  namespace?: string;
}

/**
 * A Reflector, the ObjectStore it fills, and the handlers told of every change.
 *
 * Contract (after client-go's shared informer): the store is eventually consistent with the
 * apiserver; events for one object arrive in order; a delete carries the last known state;
 * handlers run synchronously on the watch path, so they must only enqueue work (keys) and
 * return. A handler that throws is logged and does not disturb the others.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly store = new ObjectStore<T>();
  readonly reflector: Reflector<T>;
  readonly kind: ResourceKind;
  readonly #handlers = new Set<EventHandler<T>>();
  readonly #logger: Logger;

  constructor(options: InformerOptions) {
    this.kind = options.kind;
    this.#logger = options.logger;
    this.reflector = new Reflector<T>({
      http: options.http,
      kind: options.kind,
      store: this.store,
      logger: options.logger,
      minWatchTimeoutSeconds: options.minWatchTimeoutSeconds,
      pageSize: options.pageSize,
      labelSelector: options.labelSelector,
      namespace: options.namespace,
      onEvents: (events) => this.dispatch(events),
    });
  }

  get hasSynced(): boolean {
    return this.reflector.hasSynced;
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  on(handler: EventHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  run(signal: AbortSignal): Promise<void> {
    return this.reflector.run(signal);
  }

  /**
   * Resolves true as soon as `condition` holds (checked now and after every change), false
   * after `timeoutMs`. For read-your-writes waits.
   */
  waitFor(condition: (store: ObjectStore<T>) => boolean, timeoutMs: number): Promise<boolean> {
    if (condition(this.store)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean): void => {
        clearTimeout(timer);
        off();
        resolve(result);
      };
      const off = this.on(() => {
        if (condition(this.store)) finish(true);
      });
      const timer = setTimeout(() => finish(condition(this.store)), timeoutMs);
    });
  }

  private dispatch(events: StoreEvent<T>[]): void {
    for (const handler of this.#handlers) {
      for (const event of events) {
        try {
          handler(event);
        } catch (err) {
          this.#logger.error('informer handler failed', { kind: this.kind.resource, error: (err as Error).message });
        }
      }
    }
  }
}
