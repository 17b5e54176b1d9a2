import { pluralize } from './plural.js';
import type { ApiObject, RequestContext, ResourceDefinition } from './resource.js';

/**
 * A kind that lists but declares no get (a derived view: podnetworks, innerservices, the audit
 * trail...) still answers GET on its items from its list, so every item's `self` link works:
 * the console builds an item's URL as collection + "/" + id and reads it (issue 15).
 */
/** `list` from `cachedList` when the resource declares that instead. */
function withListFromCachedList(def: ResourceDefinition): ResourceDefinition {
  const { cachedList } = def;
  if (def.list || !cachedList) return def;
  return { ...def, list: async (ctx: RequestContext) => cachedList.objects(ctx).map((o) => cachedList.toApi(o)) };
}

function withGetFromList(def: ResourceDefinition): ResourceDefinition {
  const { list } = def;
  if (def.get || !list) return def;
  return { ...def, get: async (ctx: RequestContext, id: string): Promise<ApiObject | undefined> => (await list(ctx)).find((o) => o.id === id) };
}

export interface RegisteredResource {
  def: ResourceDefinition;
  collectionName: string;
  /** Child kinds by their collection name. */
  children: Map<string, RegisteredResource>;
}

/**
 * All resource definitions, linked into the URL tree by their parents. Built once; checks that
 * kinds are unique and every parent exists.
 */
export class ResourceRegistry {
  readonly roots = new Map<string, RegisteredResource>();
  readonly #byKind = new Map<string, RegisteredResource>();

  constructor(defs: readonly ResourceDefinition[]) {
    for (const def of defs) {
      if (this.#byKind.has(def.kind)) throw new Error(`resource kind ${def.kind} defined twice`);
      this.#byKind.set(def.kind, { def: withGetFromList(withListFromCachedList(def)), collectionName: def.collectionName ?? pluralize(def.kind), children: new Map() });
    }
    for (const entry of this.#byKind.values()) {
      const parents = entry.def.parents ?? [];
      if (parents.length === 0) this.roots.set(entry.collectionName, entry);
      for (const parent of parents) {
        const parentEntry = this.#byKind.get(parent);
        if (!parentEntry) throw new Error(`resource ${entry.def.kind} names unknown parent ${parent}`);
        parentEntry.children.set(entry.collectionName, entry);
      }
    }
  }

  byKind(kind: string): RegisteredResource | undefined {
    return this.#byKind.get(kind);
  }

  /**
   * The URL template a request path (below the API prefix, decoded segments) addresses:
   * `/clusters/{cluster_id}/nodes/{node_id}` for `/clusters/c1/nodes/n1`; undefined when no
   * collection matches. Ids never appear in it, so it is a bounded metrics label.
   */
  templateOf(segments: readonly string[]): string | undefined {
    let candidates = this.roots;
    let template = '';
    for (let i = 0; i < segments.length; i += 2) {
      const entry = candidates.get(segments[i]);
      if (!entry) return undefined;
      template += `/${entry.collectionName}`;
      if (i + 1 < segments.length) template += `/{${entry.def.kind}_id}`;
      candidates = entry.children;
    }
    return template || undefined;
  }

  /** Every collection URL template, e.g. `/clusters/{cluster_id}/namespaces`, sorted. */
  collectionTemplates(): string[] {
    const out: string[] = [];
    const walk = (entries: Iterable<RegisteredResource>, prefix: string, seen: readonly string[]): void => {
      for (const entry of entries) {
        if (seen.includes(entry.def.kind)) continue; // guards against a parent cycle
        const url = `${prefix}/${entry.collectionName}`;
        out.push(url);
        walk(entry.children.values(), `${url}/{${entry.def.kind}_id}`, [...seen, entry.def.kind]);
      }
    };
    walk(this.roots.values(), '', []);
    return out.sort();
  }
}
