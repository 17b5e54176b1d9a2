import type { z } from 'zod';
import { ConflictError } from '../errors.js';
import type { SecretBox } from '../store/secret-box.js';

/**
 * A named, typed collection of records keyed by id. `schema` validates every record read back
 * from storage and every record written.
 */
export interface CollectionDef<S extends z.ZodType = z.ZodType> {
  readonly kind: 'collection';
  readonly name: string;
  readonly schema: S;
}

export function defineCollection<S extends z.ZodType>(name: string, schema: S): CollectionDef<S> {
  return { kind: 'collection', name, schema };
}

/** What every log entry carries: an id unique within its log. */
export interface LogEntry {
  id: string;
}

/**
 * A named, append-only, bounded log of entries (the audit trail). `schema` validates every entry
 * read back and every entry appended. A log replaces an older collection of the same name: at
 * open, records that an older data file holds under `name` move into the log, once.
 */
export interface LogDef<S extends z.ZodType<LogEntry> = z.ZodType<LogEntry>> {
  readonly kind: 'log';
  readonly name: string;
  readonly schema: S;
}

export function defineLog<S extends z.ZodType<LogEntry>>(name: string, schema: S): LogDef<S> {
  return { kind: 'log', name, schema };
}

/** Everything a store holds is declared up front, so all of it is validated when it opens. */
export type StoreDef = CollectionDef | LogDef;

/**
 * Storage of zcloud's own state (users, clusters, quotas, audit trail...). Implementations:
 * lowdb (one JSON file plus one JSON-lines file per log, the default) and custom resources on
 * Kubernetes (src/store/kubernetes-store.ts, shared by replicas).
 * Returned records are copies: mutating them changes nothing stored. Writes from one process are
 * applied in call order, and a write's promise resolves only once the write is durable (it
 * survives a SIGKILL, an OS crash and a power cut).
 */
export interface Store {
  collection<S extends z.ZodType>(def: CollectionDef<S>): StoreCollection<z.output<S>>;
  /**
   * The log `def`, which must have been declared when the store opened. Keeps the newest
   * `maxEntries` entries; every call for one log returns the same log, and the last bound wins.
   */
  log<S extends z.ZodType<LogEntry>>(def: LogDef<S>, options: { maxEntries: number }): AppendLog<z.output<S>>;
  /**
   * Calls `listener` with the id of each record of `def` created, changed or deleted, by this
   * process or another one sharing the store, after the change is stored; returns the
   * unsubscribe. Absent on a store only this process writes (the file store): its writers know.
   * The listener runs on the watch path: enqueue the id, return at once.
   */
  watch?(def: CollectionDef, listener: (id: string) => void): () => void;
  /** Seals what must stay secret at rest (the data file's secret fields are sealed with it already). */
  readonly secrets: SecretBox;
  close(): Promise<void>;
}

/** A record and the version it is stored at: opaque, and different after every write that changed it. */
export interface Versioned<T> {
  value: T;
  version: string;
}

export interface StoreCollection<T> {
  get(id: string): Promise<T | undefined>;
  /** The record with its version (what an ETag is made of). */
  getVersioned(id: string): Promise<Versioned<T> | undefined>;
  /** Records in insertion order. */
  list(): Promise<T[]>;
  /** Ids and records in insertion order (what a migration copies). */
  entries(): Promise<[string, T][]>;
  /** Throws ConflictError when `id` exists. */
  create(id: string, value: T): Promise<T>;
  /**
   * Read-modify-write under the store's write lock. Throws NotFoundError when `id` is absent.
   * When another writer got in between, `change` runs again on what that writer stored: use it
   * for changes that compose (add a project), not for a value computed from an earlier read.
   */
  update(id: string, change: (current: T) => T): Promise<T>;
  /**
   * A write that applies `change` once, and only over the version `ifVersion` names (undefined:
   * the version this call reads): when any other version is stored, or another writer gets in
   * between, it throws ConflictError and stores nothing. For changes computed from what a
   * client saw (a PUT): they are never applied over a change the client did not see.
   */
  updateIf(id: string, ifVersion: string | undefined, change: (current: T) => T): Promise<Versioned<T>>;
  /** Creates or replaces. */
  put(id: string, value: T): Promise<T>;
  /** Returns whether something was deleted. */
  delete(id: string): Promise<boolean>;
  /** Deletes the oldest records beyond `max` (insertion order). */
  trimOldest(max: number): Promise<number>;
}

/**
 * An append-only log. Appending costs one durable append, never a rewrite of everything stored;
 * appends that arrive together may share one fsync. Entries beyond the bound are dropped from
 * the oldest end (the file is compacted now and then, not per append).
 */
export interface AppendLog<T> {
  /** Resolves once `entry` is durable; until then `list` does not show it. */
  append(entry: T): Promise<void>;
  /** The newest entries within the bound, oldest first. */
  list(): Promise<T[]>;
}

/** What updateIf throws when the record is no longer at the version the change was computed from. */
export function staleVersionError(collection: string, id: string, version: string): ConflictError {
  return new ConflictError(`${collection} ${id} changed since version ${version} was read; read it again and reapply the change`);
}
