import { randomBytes } from 'node:crypto';
import { KubeApiError, type KubeHttp } from '../kube/kube-http.js';
import { mapSecrets } from './sealed-fields.js';

/** How a secret field's value is referred to in the custom resource: `secret:<key in the record's Secret>`. */
const REFERENCE_PREFIX = 'secret:';
/** On every record Secret: the collection it belongs to (what `list` selects). */
export const RECORD_COLLECTION_LABEL = 'zcloud.cn/record-collection';
const MERGE_PATCH = 'application/merge-patch+json';

/**
 * `record` with each secret field replaced by a reference, and the Secret data the references
 * name. A field whose value is unchanged keeps the key `previous` (the object being replaced)
 * refers to for it; any other value gets a new key, the field's path and a random suffix
 * (`source.kubeconfig-<12 hex>`), never used before. So a key the replaced object referred to
 * and this one does not is referred to by no object a guarded write can still store: it is
 * safe to remove once this write has landed, and a reader of the previous object finds it
 * until then.
 */
export function splitSecrets(record: unknown, previous?: { spec: unknown; data: Readonly<Record<string, string>> }): { spec: unknown; data: Record<string, string> } {
  const kept = new Map<string, string>();
  if (previous) {
    mapSecrets(previous.spec, '', (value, path) => {
      const key = value.startsWith(REFERENCE_PREFIX) ? value.slice(REFERENCE_PREFIX.length) : undefined;
      const stored = key === undefined ? undefined : previous.data[key];
      if (key !== undefined && stored !== undefined) kept.set(`${path}\n${stored}`, key);
      return value;
    });
  }
  const data: Record<string, string> = {};
  const spec = mapSecrets(record, '', (value, path) => {
    const key = kept.get(`${path}\n${value}`) ?? `${path.slice(1).replaceAll('/', '.')}-${randomBytes(6).toString('hex')}`;
    data[key] = value;
    return REFERENCE_PREFIX + key;
  });
  return { spec, data };
}

/** The Secret keys `spec` refers to. */
export function referencedKeys(spec: unknown): Set<string> {
  const keys = new Set<string>();
  mapSecrets(spec, '', (value) => {
    if (value.startsWith(REFERENCE_PREFIX)) keys.add(value.slice(REFERENCE_PREFIX.length));
    return value;
  });
  return keys;
}

/** The value a reference names in `data`; undefined when `value` is no reference or the key is missing. */
export function resolveReference(value: string, data: Readonly<Record<string, string>>): string | undefined {
  return value.startsWith(REFERENCE_PREFIX) ? data[value.slice(REFERENCE_PREFIX.length)] : undefined;
}

export interface SecretOwner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

interface SecretObject {
  metadata: { name: string };
  data?: Record<string, string>;
}

const decode = (data: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
const encode = (data: Record<string, string | null>): Record<string, string | null> =>
  Object.fromEntries(Object.entries(data).map(([key, value]) => [key, value === null ? null : Buffer.from(value, 'utf8').toString('base64')]));

/**
 * The Secrets (type Opaque, one per record, `<prefix><object name>`) that hold the secret fields
 * of one collection's records, each owned by its record's custom resource: deleting the object
 * deletes its Secret (the garbage collector), and `delete` does it at once too.
 */
export class RecordSecrets {
  readonly #http: KubeHttp;
  readonly #base: string;
  readonly #prefix: string;
  readonly #collection: string;

  constructor(http: KubeHttp, namespace: string, collection: string, prefix: string) {
    this.#http = http;
    this.#base = `/api/v1/namespaces/${namespace}/secrets`;
    this.#prefix = prefix;
    this.#collection = collection;
  }

  nameOf(objectName: string): string {
    return `${this.#prefix}${objectName}`;
  }

  /** The decoded data of the record's Secret; empty when it has none. */
  async read(objectName: string): Promise<Record<string, string>> {
    try {
      return decode((await this.#http.request<SecretObject>('GET', `${this.#base}/${this.nameOf(objectName)}`)).data);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return {};
      throw err;
    }
  }

  /** Every record Secret of the collection, by object name. */
  async list(): Promise<Map<string, Record<string, string>>> {
    const list = await this.#http.request<{ items: SecretObject[] }>('GET', this.#base, { query: { labelSelector: `${RECORD_COLLECTION_LABEL}=${this.#collection}` } });
    return new Map(list.items.filter((s) => s.metadata.name.startsWith(this.#prefix)).map((s) => [s.metadata.name.slice(this.#prefix.length), decode(s.data)]));
  }

  /**
   * Adds `data` (new keys: adding never changes what an existing key holds) to the record's
   * Secret, making it when missing; with `owner`, sets it as the Secret's owner.
   */
  async add(objectName: string, data: Record<string, string>, owner?: SecretOwner): Promise<void> {
    const metadata = { labels: { [RECORD_COLLECTION_LABEL]: this.#collection, 'app.kubernetes.io/managed-by': 'zcloud' }, ...(owner ? { ownerReferences: [owner] } : {}) };
    const patch = () => this.#http.request('PATCH', `${this.#base}/${this.nameOf(objectName)}`, { body: { metadata, data: encode(data) }, contentType: MERGE_PATCH });
    try {
      await patch();
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      try {
        await this.#http.request('POST', this.#base, { body: { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: this.nameOf(objectName), ...metadata }, data: encode(data) } });
      } catch (createErr) {
        // Another writer made it meanwhile: add to theirs.
        if (!(createErr instanceof KubeApiError && createErr.status === 409)) throw createErr;
        await patch();
      }
    }
  }

  /** Sets the record's custom resource as the Secret's owner (once it exists, it has a uid). */
  async adopt(objectName: string, owner: SecretOwner): Promise<void> {
    await this.#http.request('PATCH', `${this.#base}/${this.nameOf(objectName)}`, { body: { metadata: { ownerReferences: [owner] } }, contentType: MERGE_PATCH });
  }

  /** Drops keys no stored object refers to any more (values a write replaced). */
  async remove(objectName: string, keys: Iterable<string>): Promise<void> {
    const data = Object.fromEntries([...keys].map((key) => [key, null]));
    if (Object.keys(data).length === 0) return;
    await this.#http.request('PATCH', `${this.#base}/${this.nameOf(objectName)}`, { body: { data }, contentType: MERGE_PATCH }).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    });
  }

  async delete(objectName: string): Promise<void> {
    await this.#http.request('DELETE', `${this.#base}/${this.nameOf(objectName)}`).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    });
  }
}
