import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../kube/kube-object.js';
import type { StoreEvent } from '../kube/object-store.js';
import { CACHED_KIND_NAMES, type CachedKindName } from '../kube/resource-kind.js';
import { Topics } from './topics.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change of one object, numbered in the order the caches saw it. */
export interface Change {
  seq: number;
  type: ChangeType;
  object: KubeObject;
}

export type ChangeListener = (change: Change) => void;

/** What the journal needs of the cluster caches: every change of `kind` in every cluster. */
export type KindSubscription = (kind: CachedKindName, handler: (cluster: string, event: StoreEvent<KubeObject>) => void) => () => void;

const TYPES = { added: 'ADDED', updated: 'MODIFIED', deleted: 'DELETED' } as const satisfies Record<StoreEvent<KubeObject>['type'], ChangeType>;

/** The outcome of asking for the changes after a cursor. */
export type Replay = { expired: false; changes: Change[] } | { expired: true; reason: string };

interface History {
  changes: Change[];
  /** seq of the newest change dropped from `changes` (0: none dropped yet). */
  droppedThrough: number;
}

/**
 * The recent changes of every cached kind of every cluster, so a watch that reconnects can be
 * told exactly what it missed. Changes are numbered by one counter per zcloud process; a cursor
 * is `<process epoch>.<seq>`, so a cursor from before a restart, or older than the `capacity`
 * changes kept per (cluster, kind), is reported expired, never silently skipped. Objects are
 * the caches' frozen objects: kept by reference, not copied.
 */
export class ChangeJournal {
  /** Different in every process: cursors of another process are expired. */
  readonly epoch = randomBytes(4).toString('hex');
  #seq = 0;
  readonly #histories = new Map<string, History>();
  readonly #listeners = new Topics<Change>();
  readonly #unsubscribe: Array<() => void>;

  constructor(subscribe: KindSubscription, private readonly capacity = 1000) {
    this.#unsubscribe = CACHED_KIND_NAMES.map((kind) => subscribe(kind, (cluster, event) => this.record(cluster, kind, event)));
  }

  /** The cursor of the newest change so far: a watch starting from a snapshot now resumes after it. */
  head(): string {
    return this.cursorOf(this.#seq);
  }

  cursorOf(seq: number): string {
    return `${this.epoch}.${seq}`;
  }

  /** The changes of (cluster, kind) after `cursor`, oldest first, or why they cannot be told. */
  since(cluster: string, kind: CachedKindName, cursor: string): Replay {
    const match = /^([0-9a-f]+)\.(\d+)$/.exec(cursor);
    if (!match) return { expired: true, reason: `cursor ${JSON.stringify(cursor)} is not one zcloud gave out` };
    if (match[1] !== this.epoch) return { expired: true, reason: 'the cursor is from before zcloud restarted' };
    const seq = Number(match[2]);
    if (seq > this.#seq) return { expired: true, reason: 'the cursor is newer than any change zcloud has seen' };
    const history = this.#histories.get(historyKey(cluster, kind));
    if (!history) return { expired: false, changes: [] };
    if (seq < history.droppedThrough) return { expired: true, reason: `changes after the cursor are no longer kept (only the last ${this.capacity} of ${kind})` };
    return { expired: false, changes: history.changes.filter((c) => c.seq > seq) };
  }

  /** Calls `listener` for every later change of (cluster, kind); returns the unsubscribe. */
  listen(cluster: string, kind: CachedKindName, listener: ChangeListener): () => void {
    return this.#listeners.listen(historyKey(cluster, kind), listener);
  }

  /**
   * Drops what is kept of a cluster that is gone. A cursor from before stays valid for a
   * cluster of the same name registered later only if none of its changes were dropped.
   */
  forget(cluster: string): void {
    for (const [key, history] of this.#histories) {
      if (!key.startsWith(`${cluster}\u0000`)) continue;
      this.#histories.set(key, { changes: [], droppedThrough: history.changes.at(-1)?.seq ?? history.droppedThrough });
    }
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
  }

  private record(cluster: string, kind: CachedKindName, event: StoreEvent<KubeObject>): void {
    const key = historyKey(cluster, kind);
    let history = this.#histories.get(key);
    if (!history) this.#histories.set(key, (history = { changes: [], droppedThrough: 0 }));
    const change: Change = { seq: ++this.#seq, type: TYPES[event.type], object: event.object };
    history.changes.push(change);
    if (history.changes.length > this.capacity) {
      const dropped = history.changes.splice(0, history.changes.length - this.capacity);
      history.droppedThrough = dropped[dropped.length - 1].seq;
    }
    this.#listeners.publish(key, change);
  }

}

function historyKey(cluster: string, kind: CachedKindName): string {
  return `${cluster}\u0000${kind}`;
}
