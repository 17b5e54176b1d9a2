import type { KubeObject } from '../kube/kube-object.js';
import type { ObjectReader } from '../kube/object-store.js';
import type { CachedKindName } from '../kube/resource-kind.js';

/**
 * Where a view reads the objects it is derived from: the informer store of one kind of the
 * cluster (api/cluster-access.ts `storeReader`), or plain stores in unit tests. Views only
 * read; the objects are frozen.
 */
export type StoreReader = <T extends KubeObject = KubeObject>(kind: CachedKindName) => ObjectReader<T>;

/** Sorts by a string key (names, entry points): every view list is in a stable order. */
export function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
}
