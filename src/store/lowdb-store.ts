import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { z } from 'zod';
import { ConflictError, NotFoundError, StoreCorruptError } from '../errors.js';
import type { CollectionDef, Store, StoreCollection } from './store.js';

const FileSchema = z.object({
  version: z.literal(1),
  collections: z.record(z.string(), z.record(z.string(), z.unknown())),
});
type FileData = z.infer<typeof FileSchema>;

export interface LowdbStoreOptions {
  /** Directory holding `zcloud.json` and the writer lock. */
  dataDir: string;
  /** Every collection the process uses; each is validated when the store opens. */
  collections: readonly CollectionDef[];
}

/**
 * Opens (or creates) `<dataDir>/zcloud.json`. Throws StoreCorruptError when the file is not
 * JSON or a record does not validate: start-up must stop rather than replace the file.
 * Only one process may open a data dir at a time (`zcloud.lock` holds the writer's pid): two
 * writers on one lowdb file overwrite each other's changes.
 */
export async function openLowdbStore(options: LowdbStoreOptions): Promise<Store> {
  mkdirSync(options.dataDir, { recursive: true });
  const lockPath = path.join(options.dataDir, 'zcloud.lock');
  acquireLock(lockPath);
  try {
    const file = path.join(options.dataDir, 'zcloud.json');
    // JSONFile writes to a temp file and renames it over the original: a crash mid-write keeps
    // the previous file. (JSONFilePreset is avoided: it keeps data in memory when NODE_ENV=test.)
    const db = new Low<FileData>(new JSONFile<FileData>(file), { version: 1, collections: {} });
    try {
      await db.read();
    } catch (err) {
      throw new StoreCorruptError(`data file ${file} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    const top = FileSchema.safeParse(db.data);
    if (!top.success) throw new StoreCorruptError(`data file ${file} does not have zcloud's layout: ${top.error.issues[0]?.message}`);
    db.data = top.data;
    for (const def of options.collections) validateCollection(file, def, db.data.collections[def.name] ?? {});
    return new LowdbStore(db, lockPath);
  } catch (err) {
    releaseLock(lockPath);
    throw err;
  }
}

function validateCollection(file: string, def: CollectionDef, records: Record<string, unknown>): void {
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

function acquireLock(lockPath: string): void {
  try {
    const fd = openSync(lockPath, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = Number(readFileSync(lockPath, 'utf8').trim());
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
    throw new StoreCorruptError(`data dir ${path.dirname(lockPath)} is in use by process ${holder}`);
  }
  if (holder === process.pid) throw new StoreCorruptError(`data dir ${path.dirname(lockPath)} is already open in this process`);
  // A stale lock from a process that died: take it over.
  rmSync(lockPath, { force: true });
  acquireLock(lockPath);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseLock(lockPath: string): void {
  rmSync(lockPath, { force: true });
}

class LowdbStore implements Store {
  #db: Low<FileData>;
  #lockPath: string;
  #closed = false;
  /** Serializes writes so read-modify-write sequences never interleave. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(db: Low<FileData>, lockPath: string) {
    this.#db = db;
    this.#lockPath = lockPath;
  }

  collection<S extends z.ZodType>(def: CollectionDef<S>): StoreCollection<z.output<S>> {
    return new LowdbCollection<z.output<S>>(this, def);
  }

  records(name: string): Record<string, unknown> {
    if (this.#closed) throw new Error('store is closed');
    return (this.#db.data.collections[name] ??= {});
  }

  /**
   * Runs `change` then persists, one at a time. `changed` says from the result whether anything
   * was modified; when not, the file is not rewritten.
   */
  write<R>(change: () => R, changed: (result: R) => boolean = () => true): Promise<R> {
    const run = this.#queue.then(async () => {
      const result = change();
      if (changed(result)) await this.#db.write();
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#queue;
    this.#closed = true;
    releaseLock(this.#lockPath);
  }
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

  create(id: string, value: T): Promise<T> {
    const valid = this.parse(value);
    return this.store.write(() => {
      const records = this.store.records(this.def.name);
      if (Object.hasOwn(records, id)) throw new ConflictError(`${this.def.name} ${id} already exists`);
      records[id] = valid;
      return this.copy(valid);
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
