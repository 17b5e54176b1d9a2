import type { KubeObject } from '../kube/kube-object.js';
import type { StoreEvent } from '../kube/object-store.js';
import { Topics } from './topics.js';

/** One Kubernetes event as the event socket and the events list show it. */
export interface ClusterEvent {
  /** When it last happened (ISO time). */
  time: string;
  /** Namespace of the event (that of the object it is about; '' for cluster-level objects). */
  namespace: string;
  /** Kind and name of the object it is about. */
  kind: string;
  name: string;
  /** Normal or Warning. */
  type: string;
  reason: string;
  message: string;
  /** The component (and host) that reported it. */
  source: string;
}

interface EventFields {
  type?: string;
  reason?: string;
  message?: string;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  firstTimestamp?: string | null;
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  source?: { component?: string; host?: string };
  reportingComponent?: string;
}

/** Kubernetes Event → ClusterEvent (core/v1 fields; newer events set eventTime instead of lastTimestamp). */
export function clusterEventOf(object: KubeObject): ClusterEvent {
  const event = object as KubeObject & EventFields;
  const source = event.source?.component || event.reportingComponent || '';
  return {
    time: event.lastTimestamp || event.eventTime || event.firstTimestamp || object.metadata.creationTimestamp || '',
    namespace: object.metadata.namespace ?? '',
    kind: event.involvedObject?.kind ?? '',
    name: event.involvedObject?.name ?? '',
    type: event.type ?? '',
    reason: event.reason ?? '',
    message: event.message ?? '',
    source: event.source?.host ? `${source}, ${event.source.host}` : source,
  };
}

export type ClusterEventListener = (event: ClusterEvent) => void;

/** What the feed needs of the cluster caches: every change of the events kind, in every cluster. */
export type EventSubscription = (handler: (cluster: string, event: StoreEvent<KubeObject>) => void) => () => void;

/**
 * The recent events of each cluster, and everyone listening to them. Fed by the events
 * informer: an event added, or updated (Kubernetes counts a repeat by updating the event), is an
 * occurrence; a deleted one (expired by its TTL) is not news. Each cluster keeps at most
 * `capacity` occurrences, oldest dropped first, so a socket's backlog is bounded too.
 * Listeners run on the watch path: they must only queue and return.
 */
export class ClusterEventFeed {
  readonly #recent = new Map<string, ClusterEvent[]>();
  readonly #listeners = new Topics<ClusterEvent>();
  readonly #unsubscribe: () => void;

  constructor(subscribe: EventSubscription, private readonly capacity = 500) {
    this.#unsubscribe = subscribe((cluster, change) => {
      if (change.type !== 'deleted') this.record(cluster, clusterEventOf(change.object));
    });
  }

  /** The cluster's recent occurrences, oldest first (a copy). */
  recent(cluster: string): ClusterEvent[] {
    return [...(this.#recent.get(cluster) ?? [])];
  }

  /** Calls `listener` for every later occurrence in `cluster`; returns the unsubscribe. */
  listen(cluster: string, listener: ClusterEventListener): () => void {
    return this.#listeners.listen(cluster, listener);
  }

  /** Drops what is kept of a cluster that is gone. */
  forget(cluster: string): void {
    this.#recent.delete(cluster);
  }

  close(): void {
    this.#unsubscribe();
  }

  private record(cluster: string, event: ClusterEvent): void {
    let ring = this.#recent.get(cluster);
    if (!ring) this.#recent.set(cluster, (ring = []));
    ring.push(event);
    if (ring.length > this.capacity) ring.splice(0, ring.length - this.capacity);
    this.#listeners.publish(cluster, event);
  }
}
