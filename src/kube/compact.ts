/**
 * Shares what cached objects repeat (issue 20, memory per cached pod). JSON.parse gives every
 * object its own copy of each string and each nested structure, though most of a pod repeats
 * its siblings': images, node and container names, label keys and values, the service-account
 * volume and mount, tolerations, owner references, whole container specs. `compact` returns
 * the object with such values replaced by one shared, frozen instance each.
 *
 * Shared are strings and sub-structures that hold nothing unique to one object: values under
 * UNIQUE_KEYS (resourceVersions, pod IPs, container ids, timestamps, annotations, data) and the
 * object's own name and uid are left as parsed, and a structure holding one is not shared, so the tables do not
 * fill with values seen once. Both tables are bounded: past their size they are emptied and
 * fill again (objects already compacted keep what they share).
 *
 * Callers must treat the result as read-only (the cache deep-freezes it): shared parts are
 * frozen here, since they belong to many objects.
 */

/** Keys whose values are (nearly) unique per object or per change: not worth a table entry. */
const UNIQUE_KEYS = new Set([
  'resourceVersion',
  'podIP',
  'ip',
  'containerID',
  'creationTimestamp',
  'deletionTimestamp',
  'lastTransitionTime',
  'lastProbeTime',
  'lastHeartbeatTime',
  'lastUpdateTime',
  'startTime',
  'startedAt',
  'finishedAt',
  'renewTime',
  'acquireTime',
  'lastTimestamp',
  'firstTimestamp',
  'eventTime',
  'generateName',
  'data',
  'binaryData',
  'message',
  // Often one-off blobs (last-applied configs, leader records, checksums).
  'annotations',
]);

/** The object's own identity: unique to it, so never looked up (an owner reference's uid is, as it repeats). */
const OWN_METADATA = new Set(['name', 'uid']);

/** Structures longer than this (as JSON) are not looked up: a long one rarely repeats whole, and its key would cost. */
const MAX_SHARED_CHARS = 2048;
const MAX_STRINGS = 200_000;
/** Characters of structure keys (their JSON) held at most: the table costs at most ≈ 32 MiB. */
const MAX_STRUCTURE_CHARS = 16 * 2 ** 20;

export class Compactor {
  readonly #strings = new Map<string, string>();
  readonly #structures = new Map<string, unknown>();
  #structureChars = 0;

  /** `object` with its repeated strings and structures shared; its top level is its own. */
  compact<T extends { metadata: { name: string } }>(object: T): T {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(object)) {
      out[key] = key === 'metadata' ? this.#metadata(value as Record<string, unknown>) : this.#value(key, value).value;
    }
    return out as T;
  }

  /** The object's own name and uid stay its own; the rest of metadata is compacted as any structure. */
  #metadata(metadata: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(metadata)) out[key] = OWN_METADATA.has(key) ? value : this.#value(key, value).value;
    return out;
  }

  /** The shared form of `value` found under `key`, and whether it may be shared whole (holds nothing unique). */
  #value(key: string, value: unknown): { value: unknown; shareable: boolean } {
    if (typeof value === 'string') return UNIQUE_KEYS.has(key) ? { value, shareable: false } : { value: this.#string(value), shareable: true };
    if (value === null || typeof value !== 'object') return { value, shareable: !UNIQUE_KEYS.has(key) };
    if (UNIQUE_KEYS.has(key)) return { value, shareable: false };
    let shareable = true;
    let out: unknown;
    if (Array.isArray(value)) {
      out = value.map((item: unknown) => {
        const compacted = this.#value(key, item);
        shareable &&= compacted.shareable;
        return compacted.value;
      });
    } else {
      const fields: Record<string, unknown> = {};
      for (const [name, inner] of Object.entries(value as Record<string, unknown>)) {
        const compacted = this.#value(name, inner);
        shareable &&= compacted.shareable;
        fields[name] = compacted.value;
      }
      out = fields;
    }
    return shareable ? this.#structure(out) : { value: out, shareable };
  }

  #string(text: string): string {
    const held = this.#strings.get(text);
    if (held !== undefined) return held;
    if (this.#strings.size >= MAX_STRINGS) this.#strings.clear();
    this.#strings.set(text, text);
    return text;
  }

  /** The held instance equal to `value`; one too long to look up is not, and neither is any structure holding it. */
  #structure(value: unknown): { value: unknown; shareable: boolean } {
    const key = JSON.stringify(value);
    if (key.length > MAX_SHARED_CHARS) return { value, shareable: false };
    const held = this.#structures.get(key);
    if (held !== undefined) return { value: held, shareable: true };
    if (this.#structureChars + key.length > MAX_STRUCTURE_CHARS) {
      this.#structures.clear();
      this.#structureChars = 0;
    }
    this.#structures.set(key, deepFrozen(value));
    this.#structureChars += key.length;
    return { value, shareable: true };
  }
}

function deepFrozen<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFrozen(inner);
  }
  return value;
}
