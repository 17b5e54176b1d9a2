import type { SecretBox } from '../store/secret-box.js';

/**
 * Which fields of stored records are secrets, by name, wherever they sit in a record: an imported
 * cluster's `kubeconfig`, a provisioned cluster's `sshKey`, a private registry's `password`.
 * The data file holds them sealed; in memory (and to every caller of the store) they are plain.
 */
export const SEALED_FIELD_NAMES: ReadonlySet<string> = new Set(['kubeconfig', 'sshKey', 'password']);

/** Marks a value sealed by the data file layer (the value itself may be sealed again inside, e.g. by the PKI store). */
const FILE_SEAL_PREFIX = 'file-sealed:';

type Records = Record<string, Record<string, unknown>>;

/** A copy of `collections` with every secret field sealed; each bound to its collection, record and path. */
export function sealCollections(collections: Records, box: SecretBox): Records {
  return mapCollections(collections, (value, context) => FILE_SEAL_PREFIX + box.seal(value, context));
}

/**
 * `collections` with every sealed field opened, and whether any secret field was found in
 * plain text (a data file of an older zcloud: the caller writes it back, sealed).
 */
export function openCollections(collections: Records, box: SecretBox): { collections: Records; plainFound: boolean } {
  let plainFound = false;
  const opened = mapCollections(collections, (value, context) => {
    if (value.startsWith(FILE_SEAL_PREFIX)) return box.open(value.slice(FILE_SEAL_PREFIX.length), context);
    plainFound = true;
    return value;
  });
  return { collections: opened, plainFound };
}

/** One record with its secret fields sealed, bound to `data/<collection>/<id>` as the data file binds them. */
export function sealRecord(collection: string, id: string, record: unknown, box: SecretBox): unknown {
  return mapSecrets(record, `data/${collection}/${id}`, (value, context) => FILE_SEAL_PREFIX + box.seal(value, context));
}

/**
 * The inverse of sealRecord. A secret field that is not sealed goes to `elsewhere` (a reference
 * to where the value is kept: the Kubernetes store's Secrets); it throws when there is none, or
 * when the field is in plain text: no writer of this layout stores one.
 */
export function openRecord(collection: string, id: string, record: unknown, box: SecretBox, elsewhere?: (value: string, context: string) => string | undefined): unknown {
  return mapSecrets(record, `data/${collection}/${id}`, (value, context) => {
    if (value.startsWith(FILE_SEAL_PREFIX)) return box.open(value.slice(FILE_SEAL_PREFIX.length), context);
    const found = elsewhere?.(value, context);
    if (found === undefined) throw new Error(`${context}: a secret field is not sealed`);
    return found;
  });
}

/** Whether `record` holds a secret field sealed in it (not kept elsewhere). */
export function holdsSealedField(record: unknown): boolean {
  let sealed = false;
  mapSecrets(record, '', (value) => {
    sealed ||= value.startsWith(FILE_SEAL_PREFIX);
    return value;
  });
  return sealed;
}

function mapCollections(collections: Records, change: (value: string, context: string) => string): Records {
  const out: Records = {};
  for (const [name, records] of Object.entries(collections)) {
    out[name] = {};
    for (const [id, record] of Object.entries(records)) out[name][id] = mapSecrets(record, `data/${name}/${id}`, change);
  }
  return out;
}

/**
 * `value` with every secret field (SEALED_FIELD_NAMES, at any depth) replaced by `change` of it;
 * `context` grows by `/<key>` (or `/<index>`) down to the field.
 */
export function mapSecrets(value: unknown, context: string, change: (value: string, context: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item, index) => mapSecrets(item, `${context}/${index}`, change));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const at = `${context}/${key}`;
    out[key] = SEALED_FIELD_NAMES.has(key) && typeof inner === 'string' ? change(inner, at) : mapSecrets(inner, at, change);
  }
  return out;
}
