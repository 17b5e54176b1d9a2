import type { Logger } from '../logger.js';
import type { KubeObject } from './kube-object.js';
import type { StoreEvent } from './object-store.js';
import type { CachedKindName } from './resource-kind.js';

export type ClusterObjectHandler = (cluster: string, event: StoreEvent<KubeObject>) => void;

/**
 * The one place to subscribe to object changes of a kind in every cluster. Each cluster cache
 * publishes every event of every informer it runs here, whenever that informer was created, so a
 * subscription made before a cluster is attached or before an informer exists needs no buffer,
 * and unsubscribing covers informers created later too.
 *
 * Handlers run synchronously on the watch path: they enqueue keys and return. One that throws is
 * logged and does not disturb the others.
 */
export class ObjectEvents {
  readonly #handlers = new Map<CachedKindName, Set<ClusterObjectHandler>>();

  constructor(private readonly logger: Logger) {}

  /** Calls `handler` for every later change of `kind` objects in any cluster; returns the unsubscribe. */
  subscribe(kind: CachedKindName, handler: ClusterObjectHandler): () => void {
    let handlers = this.#handlers.get(kind);
    if (!handlers) this.#handlers.set(kind, (handlers = new Set()));
    // A handler subscribed twice is called twice and unsubscribed one at a time.
    const entry: ClusterObjectHandler = (cluster, event) => handler(cluster, event);
    handlers.add(entry);
    return () => void handlers.delete(entry);
  }

  publish(cluster: string, kind: CachedKindName, event: StoreEvent<KubeObject>): void {
    const handlers = this.#handlers.get(kind);
    if (!handlers) return;
    for (const handler of handlers) {
      try {
        handler(cluster, event);
      } catch (err) {
        this.logger.error('object event handler failed', { cluster, kind, error: (err as Error).message });
      }
    }
  }
}
