import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { ConflictError, NotFoundError, StoreCorruptError } from '../errors.js';
import { Informer } from '../kube/informer.js';
import { KubeApiError, type KubeHttp } from '../kube/kube-http.js';
import type { KubeObject } from '../kube/kube-object.js';
import type { Logger } from '../logger.js';
import { holdsSealedField, openRecord, sealRecord } from './sealed-fields.js';
import { RecordSecrets, referencedKeys, resolveReference, splitSecrets, type SecretOwner } from './record-secrets.js';
import type { SecretBox } from './secret-box.js';
import { STORE_GROUP, STORE_VERSION, storeCrd, storedKind, type StoredKind } from './store-kinds.js';
import { staleVersionError, type AppendLog, type CollectionDef, type LogDef, type LogEntry, type Store, type StoreCollection, type StoreDef, type Versioned } from './store.js';

export interface KubernetesStoreOptions {
  http: KubeHttp;
  /** zcloud's namespace: every record is a custom resource there. */
  namespace: string;
  collections: readonly StoreDef[];
  secrets: SecretBox;
  /** For the watches' reconnects. */
  logger: Logger;
}

/** The record's id (any string); the object name is the id when it is a valid name, else a hash of it. */
const ID_ANNOTATION = 'zcloud.cn/id';
/** Insertion order across replicas: creation time in ms, then the name. */
const ORDER_ANNOTATION = 'zcloud.cn/order';
const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
/** Conflicting writers in a row before an update gives up with ConflictError (409). */
const UPDATE_ATTEMPTS = 5;
/** Reads of an object and its Secret in a row that may each be cut by a write replacing a key, before the record counts as corrupt. */
const SECRET_READ_ATTEMPTS = 5;
/** How long a CRD this store created may take to be served. */
const CRD_ESTABLISH_MS = 30_000;

interface RecordObject {
  metadata: { name: string; uid?: string; resourceVersion?: string; annotations?: Record<string, string>; creationTimestamp?: string };
  spec?: unknown;
}

/**
 * zcloud's state as custom resources of `zcloud.cn` in its namespace (one kind per collection,
 * src/store/store-kinds.ts): any number of processes may share it. Every read goes to the
 * apiserver (no cache: a replica sees what another wrote at once). `update` is a
 * read-modify-write guarded by resourceVersion: when another writer got in between, `change`
 * runs again on what that writer stored (nothing is lost), up to 5 times, then ConflictError.
 * Secret fields are sealed inside the custom resource, with the same binding as the data file,
 * or, for kinds that say so (clusters), kept in a Secret per record (src/store/record-secrets.ts).
 */
export async function openKubernetesStore(options: KubernetesStoreOptions): Promise<Store> {
  for (const def of options.collections) await ensureCrd(options.http, storedKind(def.name));
  for (const def of options.collections) await removeMirrors(options, storedKind(def.name));
  const store = new KubernetesStore(options);
  // Like the data file: a record that does not validate stops start-up instead of being overwritten.
  for (const def of options.collections) {
    const objects = store.objects(def);
    await objects.moveSealedToSecrets(await objects.list());
  }
  return store;
}

/** Installs the CRD of `kind` unless the apiserver has it, and waits until it is served. */
export async function ensureCrd(http: KubeHttp, kind: StoredKind): Promise<void> {
  const crd = storeCrd(kind);
  try {
    await http.request('POST', CRD_PATH, { body: crd });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 409)) throw new Error(`install CRD ${crd.metadata.name}: ${(err as Error).message}`, { cause: err });
  }
  const deadline = Date.now() + CRD_ESTABLISH_MS;
  for (;;) {
    const current = await http.request<{ status?: { conditions?: { type: string; status: string }[] } }>('GET', `${CRD_PATH}/${crd.metadata.name}`);
    if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not established within ${CRD_ESTABLISH_MS} ms`);
    await sleep(100);
  }
}

/** Label of the views a file-store zcloud keeps in its home cluster (src/status/resource-status.ts). */
export const MIRROR_LABEL = 'zcloud.cn/mirror';

/**
 * Deletes the views a file-store zcloud left in this namespace: they carry no record (the file
 * had it), and the records now stored here get their status from the same reconcilers.
 */
async function removeMirrors(options: KubernetesStoreOptions, kind: StoredKind): Promise<void> {
  const base = `/apis/${STORE_GROUP}/${STORE_VERSION}/namespaces/${options.namespace}/${kind.plural}`;
  const mirrors = await options.http.request<{ items: RecordObject[] }>('GET', base, { query: { labelSelector: `${MIRROR_LABEL}=true` } });
  for (const mirror of mirrors.items) {
    await options.http.request('DELETE', `${base}/${mirror.metadata.name}`).catch((err: unknown) => {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    });
  }
}

/** A Kubernetes object name for `id`: itself when it is a DNS subdomain, else `h-` and its hash. */
export function objectNameOf(id: string): string {
  return /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(id) ? id : `h-${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}

function idOf(object: KubeObject): string {
  return object.metadata.annotations?.[ID_ANNOTATION] ?? object.metadata.name ?? '';
}

let orderCounter = 0;
function nextOrder(): string {
  orderCounter = (orderCounter + 1) % 1_000_000;
  return `${Date.now().toString().padStart(15, '0')}.${orderCounter.toString().padStart(6, '0')}`;
}

class KubernetesStore implements Store {
  readonly secrets: SecretBox;
  readonly #options: KubernetesStoreOptions;
  readonly #logs = new Map<string, KubernetesLog<LogEntry>>();
  readonly #informers = new Map<string, { informer: Informer; running: Promise<void> }>();
  readonly #stop = new AbortController();

  constructor(options: KubernetesStoreOptions) {
    this.#options = options;
    this.secrets = options.secrets;
  }

  objects(def: StoreDef): RecordObjects {
    return new RecordObjects(this.#options, def);
  }

  collection<S extends z.ZodType>(def: CollectionDef<S>): StoreCollection<z.output<S>> {
    return new KubernetesCollection<z.output<S>>(this.objects(def));
  }

  log<S extends z.ZodType<LogEntry>>(def: LogDef<S>, options: { maxEntries: number }): AppendLog<z.output<S>> {
    if (!this.#options.collections.includes(def)) throw new Error(`log ${def.name} was not declared when the store opened`);
    let log = this.#logs.get(def.name);
    if (!log) this.#logs.set(def.name, (log = new KubernetesLog(this.objects(def))));
    log.maxEntries = options.maxEntries;
    return log as unknown as AppendLog<z.output<S>>;
  }

  /** One informer per watched collection, on this store's connection, until `close`. */
  watch(def: CollectionDef, listener: (id: string) => void): () => void {
    let watched = this.#informers.get(def.name);
    if (!watched) {
      const stored = storedKind(def.name);
      const informer = new Informer({
        http: this.#options.http,
        kind: { group: STORE_GROUP, version: STORE_VERSION, resource: stored.plural, kind: stored.kind, namespaced: true },
        namespace: this.#options.namespace,
        logger: this.#options.logger.child({ store: stored.plural }),
      });
      const running = informer.run(this.#stop.signal).catch((err: unknown) => {
        this.#options.logger.error('store watch stopped', { collection: def.name, error: (err as Error).message });
      });
      watched = { informer, running };
      this.#informers.set(def.name, watched);
    }
    return watched.informer.on((event) => listener(idOf(event.object)));
  }

  async close(): Promise<void> {
    // Every write was acknowledged by the apiserver before its promise resolved: nothing to flush.
    this.#stop.abort();
    await Promise.all([...this.#informers.values()].map((w) => w.running));
    this.#options.http.close();
  }
}

/** The custom resources of one collection: paths, (un)sealing, validation, and the Secrets of their secret fields. */
class RecordObjects {
  readonly #http: KubeHttp;
  readonly #secrets: SecretBox;
  readonly #kind: StoredKind;
  readonly #collection: string;
  readonly #def: StoreDef;
  readonly #base: string;
  /** The records' Secrets, when the kind keeps secret fields there (else they are sealed in the object). */
  readonly #recordSecrets: RecordSecrets | undefined;
  /** The Secret data read with each object (get, list), for `record`. */
  readonly #secretData = new WeakMap<RecordObject, Record<string, string>>();

  constructor(options: KubernetesStoreOptions, def: StoreDef) {
    this.#http = options.http;
    this.#secrets = options.secrets;
    this.#def = def;
    this.#collection = def.name;
    this.#kind = storedKind(def.name);
    this.#base = `/apis/${STORE_GROUP}/${STORE_VERSION}/namespaces/${options.namespace}/${this.#kind.plural}`;
    const placement = this.#kind.secrets;
    this.#recordSecrets = placement ? new RecordSecrets(options.http, options.namespace, def.name, placement.namePrefix) : undefined;
  }

  get name(): string {
    return this.#collection;
  }

  /** The record in `object`, validated, secret fields open (from its Secret, or sealed in it by an older zcloud). */
  record(object: RecordObject): { id: string; value: unknown } {
    const id = object.metadata.annotations?.[ID_ANNOTATION] ?? object.metadata.name;
    const data = this.#secretData.get(object) ?? {};
    const opened = openRecord(this.#collection, id, object.spec, this.#secrets, (value) => resolveReference(value, data));
    const result = this.#def.schema.safeParse(opened);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new StoreCorruptError(`${this.#kind.plural}.${STORE_GROUP} ${object.metadata.name} is invalid at ${issue?.path.join('.') || '(record)'}: ${issue?.message}`);
    }
    return { id, value: result.data };
  }

  validate(value: unknown): unknown {
    return this.#def.schema.parse(value);
  }

  async get(id: string): Promise<RecordObject | undefined> {
    for (let attempt = 1; ; attempt++) {
      let object: RecordObject;
      try {
        object = await this.#http.request<RecordObject>('GET', `${this.#base}/${objectNameOf(id)}`);
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return undefined;
        throw err;
      }
      if (!this.#recordSecrets) return object;
      // After the object: a key is added before any object refers to it. It is removed once a
      // newer object no longer does, which may land between the two reads: then read again.
      const data = await this.#recordSecrets.read(object.metadata.name);
      this.#secretData.set(object, data);
      if (attempt >= SECRET_READ_ATTEMPTS || [...referencedKeys(object.spec)].every((key) => key in data)) return object;
    }
  }

  /** Every object, in insertion order (pages of 500). */
  async list(): Promise<RecordObject[]> {
    let items: RecordObject[] = [];
    for (let attempt = 1; ; attempt++) {
      items = [];
      let cont: string | undefined;
      do {
        const page = await this.#http.request<{ items: RecordObject[]; metadata: { continue?: string } }>('GET', this.#base, { query: { limit: 500, continue: cont } });
        items.push(...page.items);
        cont = page.metadata.continue || undefined;
      } while (cont);
      if (!this.#recordSecrets) break;
      // As in `get`: a write that replaced a key between the two reads means reading again.
      const secrets = await this.#recordSecrets.list();
      let complete = true;
      for (const item of items) {
        const data = secrets.get(item.metadata.name) ?? {};
        this.#secretData.set(item, data);
        complete &&= [...referencedKeys(item.spec)].every((key) => key in data);
      }
      if (complete || attempt >= SECRET_READ_ATTEMPTS) break;
    }
    for (const item of items) this.record(item);
    const order = (o: RecordObject) => o.metadata.annotations?.[ORDER_ANNOTATION] ?? '';
    return items.sort((a, b) => order(a).localeCompare(order(b)) || a.metadata.name.localeCompare(b.metadata.name));
  }

  /**
   * The object's spec for `value`: its secret fields sealed in it, or referring to its Secret's
   * keys (`data`), keeping those of `current` for unchanged values.
   */
  #specOf(id: string, value: unknown, current?: RecordObject): { spec: unknown; data: Record<string, string> } {
    if (!this.#recordSecrets) return { spec: sealRecord(this.#collection, id, value, this.#secrets), data: {} };
    return splitSecrets(value, current && { spec: current.spec, data: this.#secretData.get(current) ?? {} });
  }

  #owner(object: RecordObject): SecretOwner {
    return { apiVersion: `${STORE_GROUP}/${STORE_VERSION}`, kind: this.#kind.kind, name: object.metadata.name, uid: object.metadata.uid ?? '' };
  }

  /** POST; throws KubeApiError 409 when the object exists. The Secret first, so no reader finds a reference it cannot follow. */
  async create(id: string, value: unknown): Promise<void> {
    const name = objectNameOf(id);
    const { spec, data } = this.#specOf(id, value);
    const withSecret = this.#recordSecrets && Object.keys(data).length > 0 ? this.#recordSecrets : undefined;
    await withSecret?.add(name, data);
    const created = await this.#http.request<RecordObject>('POST', this.#base, {
      body: {
        apiVersion: `${STORE_GROUP}/${STORE_VERSION}`,
        kind: this.#kind.kind,
        metadata: { name, annotations: { [ID_ANNOTATION]: id, [ORDER_ANNOTATION]: nextOrder() }, labels: { 'app.kubernetes.io/managed-by': 'zcloud' } },
        spec,
      },
    });
    await withSecret?.adopt(name, this.#owner(created));
  }

  /**
   * PUT guarded by `current`'s resourceVersion; throws KubeApiError 409 when someone wrote in
   * between. Returns the new resourceVersion. New Secret keys are added before, replaced ones
   * removed after the write lands (safe: see splitSecrets); a record sealed in its object by an
   * older zcloud moves to its Secret here.
   */
  async replace(id: string, current: RecordObject, value: unknown): Promise<string> {
    const { spec, data } = this.#specOf(id, value, current);
    const before = referencedKeys(current.spec);
    const added = Object.fromEntries(Object.entries(data).filter(([key]) => !before.has(key)));
    if (this.#recordSecrets && Object.keys(added).length > 0) await this.#recordSecrets.add(current.metadata.name, added, this.#owner(current));
    const stored = await this.#http.request<RecordObject>('PUT', `${this.#base}/${current.metadata.name}`, { body: { ...current, spec } });
    await this.#recordSecrets?.remove(current.metadata.name, [...before].filter((key) => !(key in data)));
    return stored.metadata.resourceVersion ?? '';
  }

  /** Rewrites each of `objects` that still holds secret fields sealed in it (an older zcloud's), moving them to its Secret. */
  async moveSealedToSecrets(objects: readonly RecordObject[]): Promise<void> {
    if (!this.#recordSecrets) return;
    for (const object of objects) {
      if (!holdsSealedField(object.spec)) continue;
      const { id, value } = this.record(object);
      // Another replica writing it meanwhile wrote the new form: nothing left to move.
      await this.replace(id, object, value).catch((err: unknown) => {
        if (!isConflict(err)) throw err;
      });
    }
  }

  async delete(name: string): Promise<boolean> {
    try {
      await this.#http.request('DELETE', `${this.#base}/${name}`);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
    // Its owner gone, the garbage collector would delete it too; at once here.
    await this.#recordSecrets?.delete(name);
    return true;
  }
}

const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409;

class KubernetesCollection<T> implements StoreCollection<T> {
  constructor(private readonly objects: RecordObjects) {}

  async get(id: string): Promise<T | undefined> {
    const object = await this.objects.get(id);
    return object ? (this.objects.record(object).value as T) : undefined;
  }

  async list(): Promise<T[]> {
    return (await this.objects.list()).map((o) => this.objects.record(o).value as T);
  }

  async entries(): Promise<[string, T][]> {
    return (await this.objects.list()).map((o) => {
      const { id, value } = this.objects.record(o);
      return [id, value as T];
    });
  }

  async create(id: string, value: T): Promise<T> {
    const valid = this.objects.validate(value) as T;
    try {
      await this.objects.create(id, valid);
    } catch (err) {
      if (isConflict(err)) throw new ConflictError(`${this.objects.name} ${id} already exists`);
      throw err;
    }
    return structuredClone(valid);
  }

  async getVersioned(id: string): Promise<Versioned<T> | undefined> {
    const object = await this.objects.get(id);
    return object ? { value: this.objects.record(object).value as T, version: object.metadata.resourceVersion ?? '' } : undefined;
  }

  /** The version is the object's resourceVersion: the apiserver refuses the PUT when it moved on. */
  async updateIf(id: string, ifVersion: string | undefined, change: (current: T) => T): Promise<Versioned<T>> {
    const current = await this.objects.get(id);
    if (!current) throw new NotFoundError(`${this.objects.name} ${id} not found`);
    const read = current.metadata.resourceVersion ?? '';
    if (ifVersion !== undefined && read !== ifVersion) throw staleVersionError(this.objects.name, id, ifVersion);
    const next = this.objects.validate(change(this.objects.record(current).value as T)) as T;
    try {
      return { value: structuredClone(next), version: await this.objects.replace(id, current, next) };
    } catch (err) {
      if (isConflict(err)) throw staleVersionError(this.objects.name, id, read);
      throw err;
    }
  }

  async update(id: string, change: (current: T) => T): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.objects.get(id);
      if (!current) throw new NotFoundError(`${this.objects.name} ${id} not found`);
      const next = this.objects.validate(change(this.objects.record(current).value as T)) as T;
      try {
        await this.objects.replace(id, current, next);
        return structuredClone(next);
      } catch (err) {
        if (!isConflict(err)) throw err;
        if (attempt >= UPDATE_ATTEMPTS) throw new ConflictError(`${this.objects.name} ${id} was changed by another writer ${attempt} times in a row; try again`);
      }
    }
  }

  async put(id: string, value: T): Promise<T> {
    const valid = this.objects.validate(value) as T;
    for (let attempt = 1; ; attempt++) {
      const current = await this.objects.get(id);
      try {
        if (current) await this.objects.replace(id, current, valid);
        else await this.objects.create(id, valid);
        return structuredClone(valid);
      } catch (err) {
        if (!isConflict(err)) throw err;
        if (attempt >= UPDATE_ATTEMPTS) throw new ConflictError(`${this.objects.name} ${id} was changed by another writer ${attempt} times in a row; try again`);
      }
    }
  }

  async delete(id: string): Promise<boolean> {
    return this.objects.delete(objectNameOf(id));
  }

  async trimOldest(max: number): Promise<number> {
    const objects = await this.objects.list();
    const excess = objects.slice(0, Math.max(0, objects.length - max));
    for (const object of excess) await this.objects.delete(object.metadata.name);
    return excess.length;
  }
}

/**
 * A log as custom resources, one per entry. Entries beyond the bound are deleted after every
 * tenth of the bound appended by this process (not per append: that would list on every write).
 */
class KubernetesLog<T extends LogEntry> implements AppendLog<T> {
  maxEntries = 1000;
  #sinceTrim = 0;

  constructor(private readonly objects: RecordObjects) {}

  async append(entry: T): Promise<void> {
    const valid = this.objects.validate(entry) as T;
    try {
      await this.objects.create(valid.id, valid);
    } catch (err) {
      if (isConflict(err)) throw new ConflictError(`${this.objects.name} entry ${valid.id} already exists`);
      throw err;
    }
    if (++this.#sinceTrim >= Math.max(1, Math.floor(this.maxEntries / 10))) {
      this.#sinceTrim = 0;
      const objects = await this.objects.list();
      for (const object of objects.slice(0, Math.max(0, objects.length - this.maxEntries))) await this.objects.delete(object.metadata.name);
    }
  }

  async list(): Promise<T[]> {
    const objects = await this.objects.list();
    return objects.slice(Math.max(0, objects.length - this.maxEntries)).map((o) => this.objects.record(o).value as T);
  }
}
