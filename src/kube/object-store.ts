import { deepFreeze, keyOf, objectKey, type KubeObject } from './kube-object.js';

export type StoreEvent<T extends KubeObject> =
  | { type: 'added'; object: T }
  | { type: 'updated'; object: T; previous: T }
  | { type: 'deleted'; object: T };

/**
 * The read side of a cache of one kind: what handlers and views may use. Objects are frozen;
 * lists are fresh arrays the caller owns.
 */
export interface ObjectReader<T extends KubeObject = KubeObject> {
  readonly size: number;
  get(namespace: string | undefined, name: string): T | undefined;
  getByKey(key: string): T | undefined;
  list(): T[];
  listNamespace(namespace: string): T[];
  /** Objects with an ownerReference to `uid`. */
  listOwnedBy(uid: string): T[];
  /** `tally`'s sums over the objects of `namespace` (zeros when it has none); see NamespaceTally. */
  namespaceTotals(tally: NamespaceTally<T>, namespace: string): readonly number[];
}

/**
 * A figure summed per namespace and kept current by every write to the store, like an index:
 * reading a namespace's sums costs a lookup, however many objects it holds. `measure` gives an
 * object's contribution (`width` numbers, or undefined for none); it must be pure, since the
 * store subtracts what it gives for the object a write replaces or removes. A tally is
 * registered on first read (one pass over the store), identified by the object itself.
 */
export interface NamespaceTally<T extends KubeObject = KubeObject> {
  readonly width: number;
  measure(object: T): readonly number[] | undefined;
}

/**
 * A reader that shows only the objects of namespaces `visible` accepts, as if the others did not
 * exist. Cluster-level views built from namespaced objects read through it for callers granted
 * only some namespaces, so a view added later cannot leak the rest by forgetting a filter.
 */
export function restrictToNamespaces<T extends KubeObject>(reader: ObjectReader<T>, visible: (namespace: string) => boolean): ObjectReader<T> {
  const shown = (object: T | undefined): T | undefined => (object && visible(object.metadata.namespace ?? '') ? object : undefined);
  const keep = (objects: T[]): T[] => objects.filter((o) => visible(o.metadata.namespace ?? ''));
  return {
    get size() {
      return keep(reader.list()).length;
    },
    get: (namespace, name) => shown(reader.get(namespace, name)),
    getByKey: (key) => shown(reader.getByKey(key)),
    list: () => keep(reader.list()),
    listNamespace: (namespace) => (visible(namespace) ? reader.listNamespace(namespace) : []),
    listOwnedBy: (uid) => keep(reader.listOwnedBy(uid)),
    namespaceTotals: (tally, namespace) => (visible(namespace) ? reader.namespaceTotals(tally, namespace) : new Array<number>(tally.width).fill(0)),
  };
}

/**
 * An indexed, in-memory copy of one resource kind of one cluster. Keys are `namespace/name`;
 * the namespace and owner-uid indexes are updated in the same write as the object map, so a
 * reader never sees them disagree. Objects handed out are deep-frozen: treat them as read-only.
 * Lists are built by loops, never by spreading into push (that overflows the call stack at
 * ~200k objects).
 */
export class ObjectStore<T extends KubeObject = KubeObject> implements ObjectReader<T> {
  readonly #objects = new Map<string, T>();
  readonly #byNamespace = new Map<string, Set<string>>();
  readonly #byOwner = new Map<string, Set<string>>();
  readonly #tallies = new Map<NamespaceTally<T>, Map<string, number[]>>();

  get size(): number {
    return this.#objects.size;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#objects.get(objectKey(namespace, name));
  }

  getByKey(key: string): T | undefined {
    return this.#objects.get(key);
  }

  list(): T[] {
    const out: T[] = new Array(this.#objects.size);
    let i = 0;
    for (const object of this.#objects.values()) out[i++] = object;
    return out;
  }

  listNamespace(namespace: string): T[] {
    return this.collect(this.#byNamespace.get(namespace));
  }

  /** Objects with an ownerReference to `uid`. */
  listOwnedBy(uid: string): T[] {
    return this.collect(this.#byOwner.get(uid));
  }

  namespaceTotals(tally: NamespaceTally<T>, namespace: string): readonly number[] {
    let sums = this.#tallies.get(tally);
    if (!sums) {
      this.#tallies.set(tally, (sums = new Map()));
      for (const object of this.#objects.values()) addMeasure(sums, tally, object, 1);
    }
    return sums.get(namespace) ?? new Array<number>(tally.width).fill(0);
  }

  private collect(keys: Set<string> | undefined): T[] {
    const out: T[] = [];
    if (!keys) return out;
    for (const key of keys) {
      const object = this.#objects.get(key);
      if (object) out.push(object);
    }
    return out;
  }

  /** Adds or replaces one object; returns the event it amounts to. */
  upsert(object: T): StoreEvent<T> {
    deepFreeze(object);
    const key = keyOf(object);
    const previous = this.#objects.get(key);
    if (previous) this.unindex(key, previous);
    this.#objects.set(key, object);
    this.index(key, object);
    return previous ? { type: 'updated', object, previous } : { type: 'added', object };
  }

  /** Removes the object at `key`; the event carries its last known state. */
  remove(key: string): StoreEvent<T> | undefined {
    const previous = this.#objects.get(key);
    if (!previous) return undefined;
    this.unindex(key, previous);
    this.#objects.delete(key);
    return { type: 'deleted', object: previous };
  }

  /**
   * Replaces the whole content (after a LIST). Returns what changed: objects gone since the
   * last state are `deleted`, new ones `added`, ones with another resourceVersion `updated`.
   */
  replace(objects: readonly T[]): StoreEvent<T>[] {
    const events: StoreEvent<T>[] = [];
    const seen = new Set<string>();
    for (const object of objects) {
      const key = keyOf(object);
      seen.add(key);
      const previous = this.#objects.get(key);
      if (previous && previous.metadata.resourceVersion === object.metadata.resourceVersion) continue;
      events.push(this.upsert(object));
    }
    for (const key of [...this.#objects.keys()]) {
      if (seen.has(key)) continue;
      const event = this.remove(key);
      if (event) events.push(event);
    }
    return events;
  }

  clear(): void {
    this.#objects.clear();
    this.#byNamespace.clear();
    this.#byOwner.clear();
    for (const sums of this.#tallies.values()) sums.clear();
  }

  private index(key: string, object: T): void {
    const ns = object.metadata.namespace;
    if (ns) addTo(this.#byNamespace, ns, key);
    for (const owner of object.metadata.ownerReferences ?? []) addTo(this.#byOwner, owner.uid, key);
    for (const [tally, sums] of this.#tallies) addMeasure(sums, tally, object, 1);
  }

  private unindex(key: string, object: T): void {
    const ns = object.metadata.namespace;
    if (ns) removeFrom(this.#byNamespace, ns, key);
    for (const owner of object.metadata.ownerReferences ?? []) removeFrom(this.#byOwner, owner.uid, key);
    for (const [tally, sums] of this.#tallies) addMeasure(sums, tally, object, -1);
  }
}

/** Adds (sign 1) or takes away (sign -1) `object`'s measure from its namespace's sums; a namespace at zero objects is dropped. */
function addMeasure<T extends KubeObject>(sums: Map<string, number[]>, tally: NamespaceTally<T>, object: T, sign: 1 | -1): void {
  const ns = object.metadata.namespace;
  const figures = ns ? tally.measure(object) : undefined;
  if (!ns || !figures) return;
  let held = sums.get(ns);
  if (!held) sums.set(ns, (held = new Array<number>(tally.width).fill(0)));
  for (let i = 0; i < tally.width; i++) held[i] += sign * (figures[i] ?? 0);
  if (held.every((value) => value === 0)) sums.delete(ns);
}

function addTo(index: Map<string, Set<string>>, value: string, key: string): void {
  let keys = index.get(value);
  if (!keys) index.set(value, (keys = new Set()));
  keys.add(key);
}

function removeFrom(index: Map<string, Set<string>>, value: string, key: string): void {
  const keys = index.get(value);
  if (!keys) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(value);
}
