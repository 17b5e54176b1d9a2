import type { RegisteredResource } from './registry.js';
import type { Fragment } from './fragment-cache.js';
import type { ApiObject } from './resource.js';

/**
 * A collection answer as JSON text in parts: the envelope's head and tail, and one serialised
 * item each, so the writer streams it item by item and a page is a slice of the items.
 */
export interface CollectionJson {
  head: string;
  items: readonly string[];
  /** Closes `data`; a page adds its `continue` before the closing brace. */
  tail: string;
}

/** `{"type":"collection","resourceType":…,"links":{"self":…},"data":[` */
export function collectionHead(kind: string, collectionUrl: string): string {
  return `{"type":"collection","resourceType":${JSON.stringify(kind)},"links":${JSON.stringify({ self: collectionUrl })},"data":[`;
}

/**
 * Serialises items of `entry` listed at `collectionUrl` exactly as
 * JSON.stringify({id, type, links: linksOf(...), creationTimestamp, ...fields}) would, without
 * building each item's links object: the link text is fixed per collection except the
 * item's id, so it is escaped once per answer and the id (percent-encoded, so nothing in it
 * needs escaping) is put between its parts.
 */
export function itemSerializer(entry: RegisteredResource, collectionUrl: string): (object: ApiObject) => string {
  const withLinks = linkedItem(entry, collectionUrl);
  return (object) => {
    const fragment = fragmentOf(object);
    return fragment ? withLinks(fragment) : JSON.stringify(shapeItem(entry, collectionUrl, object));
  };
}

/**
 * The item's id and its JSON after `links`, or undefined when a field is named like an
 * envelope key (`type`, `links`): object spread replaces those in place, so such an item is
 * left to JSON.stringify of the shaped object.
 */
export function fragmentOf(object: ApiObject): Fragment | undefined {
  const { id, creationTimestamp, ...fields } = object;
  if ('type' in fields || 'links' in fields) return undefined;
  const rest = JSON.stringify(fields);
  return { id, rest: `"creationTimestamp":${JSON.stringify(creationTimestamp ?? null)}${rest.length > 2 ? `,${rest.slice(1)}` : '}'}` };
}

/** Puts a fragment in its envelope: `{"id":…,"type":…,"links":{…},` + rest. */
export function linkedItem(entry: RegisteredResource, collectionUrl: string): (fragment: Fragment) => string {
  const d = entry.def;
  const quoted = (text: string) => JSON.stringify(text).slice(1, -1);
  const coll = quoted(collectionUrl);
  // Each link is `"name":"<collection>/<id><suffix>"` or the collection itself, in linksOf's order.
  const parts: Array<{ name: string; suffix?: string }> = [];
  if (d.get) parts.push({ name: 'self', suffix: '' });
  if (d.list) parts.push({ name: 'collection' });
  if (d.update) parts.push({ name: 'update', suffix: '' });
  if (d.remove) parts.push({ name: 'remove', suffix: '' });
  for (const [name] of entry.children) parts.push({ name, suffix: quoted(`/${name}`) });
  const pieces = parts.map((p) => (p.suffix === undefined ? { fixed: `${JSON.stringify(p.name)}:"${coll}"` } : { before: `${JSON.stringify(p.name)}:"${coll}/`, after: `${p.suffix}"` }));
  const head = `,"type":${JSON.stringify(d.kind)},"links":{`;
  return ({ id, rest }) => {
    const encodedId = encodeURIComponent(id);
    let text = `{"id":${JSON.stringify(id)}${head}`;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i > 0) text += ',';
      text += 'fixed' in piece ? piece.fixed : `${piece.before}${encodedId}${piece.after}`;
    }
    return `${text}},${rest}`;
  };
}

/** An object as zcloud.cn answers it: id, type, links and creationTimestamp first, then its fields. */
export function shapeItem(entry: RegisteredResource, collectionUrl: string, object: ApiObject): Record<string, unknown> {
  const { id, creationTimestamp, ...fields } = object;
  return { id, type: entry.def.kind, links: linksOf(entry, collectionUrl, id), creationTimestamp: creationTimestamp ?? null, ...fields };
}

/** self/collection/update/remove as the methods exist, plus one link per child collection. */
export function linksOf(entry: RegisteredResource, collectionUrl: string, id: string): Record<string, string> {
  const self = `${collectionUrl}/${encodeURIComponent(id)}`;
  const d = entry.def;
  const links: Record<string, string> = {};
  if (d.get) links.self = self;
  if (d.list) links.collection = collectionUrl;
  if (d.update) links.update = self;
  if (d.remove) links.remove = self;
  for (const [name] of entry.children) links[name] = `${self}/${name}`;
  return links;
}
