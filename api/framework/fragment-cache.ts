/** An item of a cached view, serialised: its id, and its JSON after the envelope's `links` (see itemSerializer). */
export interface Fragment {
  id: string;
  /** `"creationTimestamp":…,<fields>}` */
  rest: string;
}

interface Entry {
  resourceVersion: string;
  fragment: Fragment;
}

/**
 * Serialised API views of cached objects, by (view, object uid, resourceVersion): a list of
 * objects that did not change since the last one costs a lookup per item, not a translation
 * and a JSON.stringify. One entry per (view, uid): a new resourceVersion replaces the old.
 * Bounded by the characters held (`maxChars`); past it the entries stored first go first.
 */
export class FragmentCache {
  readonly #views = new Map<string, Map<string, Entry>>();
  /** Every entry in the order stored, for eviction. */
  readonly #order = new Map<Entry, { view: string; uid: string }>();
  #chars = 0;

  constructor(readonly maxChars = 32 * 2 ** 20) {}

  get chars(): number {
    return this.#chars;
  }

  get size(): number {
    return this.#order.size;
  }

  /** The fragment of (view, uid, resourceVersion), made by `make` and kept when not held. */
  get(view: string, uid: string, resourceVersion: string, make: () => Fragment): Fragment {
    let entries = this.#views.get(view);
    if (!entries) this.#views.set(view, (entries = new Map()));
    const held = entries.get(uid);
    if (held && held.resourceVersion === resourceVersion) return held.fragment;
    const fragment = make();
    if (held) this.#drop(held);
    const entry: Entry = { resourceVersion, fragment };
    entries.set(uid, entry);
    this.#order.set(entry, { view, uid });
    this.#chars += fragment.rest.length + fragment.id.length;
    while (this.#chars > this.maxChars && this.#order.size > 0) {
      const [oldest, where] = this.#order.entries().next().value!;
      this.#views.get(where.view)?.delete(where.uid);
      this.#drop(oldest);
    }
    return fragment;
  }

  #drop(entry: Entry): void {
    if (this.#order.delete(entry)) this.#chars -= entry.fragment.rest.length + entry.fragment.id.length;
  }
}
