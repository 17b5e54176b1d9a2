import { createHash } from 'node:crypto';
import { chmod, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Low, type Adapter } from 'lowdb';
import { z } from 'zod';
import { ConflictError, NotFoundError, StoreCorruptError } from '../errors.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { ensureDirectory, removeLeftoverTempFiles, writeFileDurably } from './durable-file.js';
import { JsonLinesLog } from './json-lines-log.js';
import { openCollections, sealCollections } from './sealed-fields.js';
import { SecretBox } from '../store/secret-box.js';
import { staleVersionError, type AppendLog, type CollectionDef, type LogDef, type LogEntry, type Store, type StoreCollection, type StoreDef, type Versioned } from './store.js';

const FileSchema = z.object({
  version: z.literal(1),
  collections: z.record(z.string(), z.record(z.string(), z.unknown())),
});
type FileData = z.infer<typeof FileSchema>;

export const DATA_FILE = 'zcloud.json';

export interface LowdbStoreOptions {
  /** Directory holding `zcloud.json`, one `<name>.log` per log and the writer lock `zcloud.lock`. */
  dataDir: string;
  /** Every collection and log the process uses; each is validated when the store opens. */
  collections: readonly StoreDef[];
  /** The key sealing secrets in the data file (base64, 32 bytes); default: `<dataDir>/data-secrets.key`, made on first use. */
  secretsKey?: string;
}

/**
 * Opens (or creates) `<dataDir>/zcloud.json` and the logs beside it. Throws StoreCorruptError
 * when the file is not JSON or a record does not validate: start-up must stop rather than
 * replace the file. Only one process may open a data dir at a time (DataDirInUseError
 * otherwise): two writers on one lowdb file overwrite each other's changes.
 */
export async function openLowdbStore(options: LowdbStoreOptions): Promise<Store> {
  await ensureDirectory(options.dataDir);
  const lock = lockDataDir(options.dataDir);
  const logs = new Map<string, JsonLinesLog<LogEntry>>();
  try {
    // Left by a writer killed between its temp file and the rename; the lock says none is live.
    await removeLeftoverTempFiles(lock.dir);
    await restrictToOwner(lock.dir);
    const secrets = SecretBox.forDataDir(lock.dir, options.secretsKey);
    const file = path.join(lock.dir, DATA_FILE);
    const adapter = new DurableJsonFile(file, secrets);
    const db = new Low<FileData>(adapter, { version: 1, collections: {} });
    try {
      await db.read();
    } catch (err) {
      throw new StoreCorruptError(`data file ${file} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    const top = FileSchema.safeParse(db.data);
    if (!top.success) throw new StoreCorruptError(`data file ${file} does not have zcloud's layout: ${top.error.issues[0]?.message}`);
    db.data = top.data;
    let migrated = false;
    for (const def of options.collections) {
      const records = db.data.collections[def.name] ?? {};
      validateCollection(file, def, records);
      if (def.kind === 'log') {
        // An older zcloud kept this log as a collection of the data file: move it into the log,
        // then drop it from the data file. A crash in between is repaired by the next open,
        // which finds the entries in the log by id and only drops the collection.
        const legacy = Object.values(records).map((record) => def.schema.parse(record));
        logs.set(def.name, await JsonLinesLog.open(path.join(lock.dir, `${def.name}.log`), def.schema, legacy));
        if (Object.hasOwn(db.data.collections, def.name)) {
          delete db.data.collections[def.name];
          migrated = true;
        }
      }
    }
    // An older data file held secrets in plain text: write it back sealed.
    if (migrated || adapter.plainSecretsRead) await db.write();
    return new LowdbStore(db, lock, logs, secrets);
  } catch (err) {
    for (const log of logs.values()) await log.close();
    lock.release();
    throw err;
  }
}

/**
 * Only zcloud's user may read its state. A data dir of an older zcloud may hold files others
 * can read: their modes are narrowed once here (new files are made 0600 from the start).
 */
async function restrictToOwner(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile() && /^(zcloud\.json|zcloud\.lock|.*\.log|.*\.key)$/.test(entry.name)) await chmod(path.join(dir, entry.name), 0o600);
  }
}

function validateCollection(file: string, def: StoreDef, records: Record<string, unknown>): void {
  for (const [id, record] of Object.entries(records)) {
    const result = def.schema.safeParse(record);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new StoreCorruptError(
        `data file ${file}: ${def.name}/${id} is invalid at ${issue?.path.join('.') || '(record)'}: ${issue?.message}`,
      );
    }
  }
}

/**
 * lowdb adapter that writes with writeFileDurably (temp, fsync, rename, fsync dir). lowdb's own
 * JSONFile renames a temp file too but never fsyncs, so an OS crash or power cut could lose
 * writes it had acknowledged, or leave an empty file behind the rename.
 */
class DurableJsonFile implements Adapter<FileData> {
  /** Whether the last read found a secret field in plain text. */
  plainSecretsRead = false;

  constructor(
    private readonly file: string,
    private readonly secrets: SecretBox,
  ) {}

  async read(): Promise<FileData | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const data = JSON.parse(text) as FileData;
    const top = FileSchema.safeParse(data);
    if (!top.success) return data; // reported by the caller, with the layout it expects
    const { collections, plainFound } = openCollections(top.data.collections, this.secrets);
    this.plainSecretsRead = plainFound;
    return { ...top.data, collections };
  }

  write(data: FileData): Promise<void> {
    // Serialized before the first await: the write holds exactly the changes made so far.
    const sealed = { ...data, collections: sealCollections(data.collections, this.secrets) };
    return writeFileDurably(this.file, JSON.stringify(sealed, null, 2), 0o600);
  }
}

class LowdbStore implements Store {
  #db: Low<FileData>;
  #lock: DataDirLock;
  #logs: Map<string, JsonLinesLog<LogEntry>>;
  #closed = false;
  /** The file write in progress, if any. */
  #writing: Promise<void> | undefined;
  /** The file write that will start when #writing ends; changes made until it starts join it. */
  #nextWrite: Promise<void> | undefined;

  constructor(
    db: Low<FileData>,
    lock: DataDirLock,
    logs: Map<string, JsonLinesLog<LogEntry>>,
    readonly secrets: SecretBox,
  ) {
    this.#db = db;
    this.#lock = lock;
    this.#logs = logs;
  }

  collection<S extends z.ZodType>(def: CollectionDef<S>): StoreCollection<z.output<S>> {
    return new LowdbCollection<z.output<S>>(this, def);
  }

  log<S extends z.ZodType<LogEntry>>(def: LogDef<S>, options: { maxEntries: number }): AppendLog<z.output<S>> {
    if (this.#closed) throw new Error('store is closed');
    const log = this.#logs.get(def.name);
    if (!log) throw new Error(`log ${def.name} was not declared when the store opened`);
    log.bound(options.maxEntries);
    return log as unknown as AppendLog<z.output<S>>;
  }

  records(name: string): Record<string, unknown> {
    if (this.#closed) throw new Error('store is closed');
    return (this.#db.data.collections[name] ??= {});
  }

  /**
   * Applies `change` to the in-memory data at once (so changes apply in call order and a
   * read-modify-write never interleaves with another), then resolves once a file write that
   * started after the change has completed. Changes that arrive while a write is in progress
   * share the next write (group commit): with many concurrent writers each waits for about two
   * writes, not for all the writes queued before it. `changed` says from the result whether
   * anything was modified; when not, nothing is written.
   */
  async write<R>(change: () => R, changed: (result: R) => boolean = () => true): Promise<R> {
    if (this.#closed) throw new Error('store is closed');
    const result = change();
    if (changed(result)) await this.#persist();
    return result;
  }

  #persist(): Promise<void> {
    if (this.#nextWrite) return this.#nextWrite;
    const previous = this.#writing ?? Promise.resolve();
    const next: Promise<void> = previous
      .catch(() => undefined) // that write's own callers got its error; this one writes everything again
      .then(async () => {
        this.#nextWrite = undefined;
        this.#writing = next;
        try {
          await this.#db.write();
        } finally {
          if (this.#writing === next) this.#writing = undefined;
        }
      });
    this.#nextWrite = next;
    return next;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      while (this.#nextWrite ?? this.#writing) await (this.#nextWrite ?? this.#writing)!.catch(() => undefined);
      for (const log of this.#logs.values()) await log.close();
    } finally {
      this.#lock.release();
    }
  }
}

/**
 * A file record's version: a hash of what is stored. (A record changed and changed back gets
 * its old version again; a write conditional on it then loses nothing, the content being the same.)
 */
function versionOf(record: unknown): string {
  return createHash('sha256').update(JSON.stringify(record)).digest('base64url').slice(0, 22);
}

class LowdbCollection<T> implements StoreCollection<T> {
  constructor(
    private readonly store: LowdbStore,
    private readonly def: CollectionDef,
  ) {}

  private parse(value: unknown): T {
    return this.def.schema.parse(value) as T;
  }

  private copy(value: unknown): T {
    return structuredClone(value) as T;
  }

  async get(id: string): Promise<T | undefined> {
    const records = this.store.records(this.def.name);
    return Object.hasOwn(records, id) ? this.copy(records[id]) : undefined;
  }

  async list(): Promise<T[]> {
    return Object.values(this.store.records(this.def.name)).map((value) => this.copy(value));
  }

  async entries(): Promise<[string, T][]> {
    return Object.entries(this.store.records(this.def.name)).map(([id, value]) => [id, this.copy(value)]);
  }

  create(id: string, value: T): Promise<T> {
    const valid = this.parse(value);
    return this.store.write(() => {
      const records = this.store.records(this.def.name);
      if (Object.hasOwn(records, id)) throw new ConflictError(`${this.def.name} ${id} already exists`);
      records[id] = valid;
      return this.copy(valid);
    });
  }

  async getVersioned(id: string): Promise<Versioned<T> | undefined> {
    const records = this.store.records(this.def.name);
    return Object.hasOwn(records, id) ? { value: this.copy(records[id]), version: versionOf(records[id]) } : undefined;
  }

  updateIf(id: string, ifVersion: string | undefined, change: (current: T) => T): Promise<Versioned<T>> {
    // Read, check and write in one synchronous step: no other writer can get in between.
    return this.store.write(() => {
      const records = this.store.records(this.def.name);
      if (!Object.hasOwn(records, id)) throw new NotFoundError(`${this.def.name} ${id} not found`);
      if (ifVersion !== undefined && versionOf(records[id]) !== ifVersion) throw staleVersionError(this.def.name, id, ifVersion);
      const next = this.parse(change(this.copy(records[id])));
      records[id] = next;
      return { value: this.copy(next), version: versionOf(next) };
    });
  }

  update(id: string, change: (current: T) => T): Promise<T> {
    return this.store.write(() => {
      const records = this.store.records(this.def.name);
      if (!Object.hasOwn(records, id)) throw new NotFoundError(`${this.def.name} ${id} not found`);
      const next = this.parse(change(this.copy(records[id])));
      records[id] = next;
      return this.copy(next);
    });
  }

  put(id: string, value: T): Promise<T> {
    const valid = this.parse(value);
    return this.store.write(() => {
      this.store.records(this.def.name)[id] = valid;
      return this.copy(valid);
    });
  }

  delete(id: string): Promise<boolean> {
    return this.store.write(
      () => {
        const records = this.store.records(this.def.name);
        if (!Object.hasOwn(records, id)) return false;
        delete records[id];
        return true;
      },
      (deleted) => deleted,
    );
  }

  trimOldest(max: number): Promise<number> {
    return this.store.write(
      () => {
        const records = this.store.records(this.def.name);
        const ids = Object.keys(records);
        const excess = ids.length - max;
        for (let i = 0; i < excess; i++) delete records[ids[i]];
        return Math.max(0, excess);
      },
      (trimmed) => trimmed > 0,
    );
  }
}
