import type { z } from 'zod';

/**
 * A named, typed collection of records keyed by id. `schema` validates every record read back
 * from storage and every record written.
 */
export interface CollectionDef<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly schema: S;
}

export function defineCollection<S extends z.ZodType>(name: string, schema: S): CollectionDef<S> {
  return { name, schema };
}

/**
 * Storage of zcloud's own state (users, clusters, quotas, audit trail...). Implementations:
 * lowdb (one JSON file) today; a Kubernetes-backed one later. Returned records are copies:
 * mutating them changes nothing stored. Writes from one process are applied in call order.
 */
export interface Store {
  collection<S extends z.ZodType>(def: CollectionDef<S>): StoreCollection<z.output<S>>;
  close(): Promise<void>;
}

export interface StoreCollection<T> {
  get(id: string): Promise<T | undefined>;
  /** Records in insertion order. */
  list(): Promise<T[]>;
  /** Throws ConflictError when `id` exists. */
  create(id: string, value: T): Promise<T>;
  /** Read-modify-write under the store's write lock. Throws NotFoundError when `id` is absent. */
  update(id: string, change: (current: T) => T): Promise<T>;
  /** Creates or replaces. */
  put(id: string, value: T): Promise<T>;
  /** Returns whether something was deleted. */
  delete(id: string): Promise<boolean>;
  /** Deletes the oldest records beyond `max` (insertion order). */
  trimOldest(max: number): Promise<number>;
}
