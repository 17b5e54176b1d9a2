import type { KubeObject } from '../../src/kube/kube-object.js';
import { ObjectStore } from '../../src/kube/object-store.js';
import type { CachedKindName } from '../../src/kube/resource-kind.js';
import type { StoreReader } from '../../src/views/view-sources.js';

/** Plain stores standing in for a cluster's informer stores, for unit tests of the views. */
export function storesWith(objects: Partial<Record<CachedKindName, KubeObject[]>>): StoreReader {
  const stores = new Map<CachedKindName, ObjectStore>();
  for (const [kind, list] of Object.entries(objects) as Array<[CachedKindName, KubeObject[]]>) {
    const store = new ObjectStore();
    store.replace(structuredClone(list));
    stores.set(kind, store);
  }
  const empty = new ObjectStore();
  return (<T extends KubeObject>(kind: CachedKindName) => (stores.get(kind) ?? empty) as unknown as ObjectStore<T>) as StoreReader;
}

/** A Service of namespace `namespace` with `selector`. */
export function svc(name: string, selector?: Record<string, string>, namespace = 'shop'): KubeObject {
  return { metadata: { name, namespace }, spec: { selector } };
}
