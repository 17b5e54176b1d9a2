import { authorize as decide, type Decision, type PathStep } from '../../src/auth/authorizer.js';
import { BadRequestError, ForbiddenError, MalformedError, MethodNotAllowedError, NotFoundError } from '../../src/errors.js';
import type { Principal } from '../../src/users.js';
import type { Answer } from './answers.js';
import { collectionHead, fragmentOf, itemSerializer, linkedItem, shapeItem } from './collection-json.js';
import type { Fragment, FragmentCache } from './fragment-cache.js';
import { LIST_PARAMETERS } from './list-pages.js';
import { parseInput } from './http-errors.js';
import type { RegisteredResource, ResourceRegistry } from './registry.js';
import type { ActionDefinition, ApiObject, RequestContext } from './resource.js';

/**
 * The steps of one zcloud.cn request, in the order the router runs them:
 * resolve → authenticate → (read body) → authorize → guard → validate → dispatch → shape,
 * then the router audits and writes. Each step is a plain function of what the earlier ones
 * found, so each is unit-tested alone; the order is what makes the answers right (an
 * anonymous caller learns nothing but 401, a hidden object is 403/404 before its input is
 * judged).
 */

/** Where a request path lands in the resource tree. */
export interface ResolvedPath {
  entry: RegisteredResource;
  ancestry: PathStep[];
  id?: string;
  /** Absolute URL of the collection the request addresses. */
  collectionUrl: string;
}

export type Operation =
  | { verb: 'list' }
  | { verb: 'get'; id: string }
  | { verb: 'create' }
  | { verb: 'update'; id: string }
  | { verb: 'delete'; id: string }
  | { verb: 'action'; id: string; action: string };

/** The operation, or why the URL refuses the method (reported only once the caller is known). */
export type Resolution = { path: ResolvedPath } & ({ operation: Operation } | { refusal: Error });

export interface RequestLine {
  method: string;
  /** Below the API prefix, still URL-encoded: `/clusters/c1/nodes`. */
  path: string;
  /** `?action=` */
  action: string | undefined;
  /** Absolute URL of the API prefix, for links. */
  baseUrl: string;
}

/** The segments of `path` walked down the registry; an unknown collection is 404. */
export function resolvePath(registry: ResourceRegistry, segments: readonly string[], baseUrl: string): ResolvedPath {
  let candidates = registry.roots;
  const ancestry: PathStep[] = [];
  let url = baseUrl;
  for (let i = 0; i < segments.length; i += 2) {
    const entry = candidates.get(segments[i]);
    if (!entry) throw new NotFoundError(`no collection ${segments[i]} at ${['', ...segments.slice(0, i + 1)].join('/')}`);
    url += `/${entry.collectionName}`;
    if (i + 1 >= segments.length) return { entry, ancestry, collectionUrl: url };
    const id = segments[i + 1];
    if (i + 2 >= segments.length) return { entry, ancestry, id, collectionUrl: url };
    ancestry.push({ kind: entry.def.kind, id });
    url += `/${encodeURIComponent(id)}`;
    candidates = entry.children;
  }
  throw new NotFoundError('no resource at the API root');
}

/**
 * The methods a URL accepts, for 405's Allow header. A collection takes GET (list) and POST
 * (create); actions are POSTed to an item (`?action=`), so they make POST an item method only.
 */
export function allowedMethods(entry: RegisteredResource, onItem: boolean): string[] {
  const d = entry.def;
  if (!onItem) return [(d.list || d.text) && 'GET', d.create && 'POST'].filter(Boolean) as string[];
  return [d.get && 'GET', d.update && 'PUT', d.remove && 'DELETE', hasActions(entry) && 'POST'].filter(Boolean) as string[];
}

function hasActions(entry: RegisteredResource): boolean {
  return Object.keys(entry.def.actions ?? {}).length > 0;
}

/** The operation `method` (and `?action=`) asks of `path`: 405 for an undeclared method, 404 for an unknown action. */
export function operationOf(method: string, action: string | undefined, path: ResolvedPath): Operation {
  const { entry, id } = path;
  const notAllowed = (): never => {
    const allowed = allowedMethods(entry, id !== undefined);
    throw new MethodNotAllowedError(
      `${method} is not supported on ${id === undefined ? `collection ${entry.collectionName}` : entry.def.kind} (allowed: ${allowed.join(', ') || 'none'})`,
      allowed,
    );
  };
  switch (method) {
    case 'GET':
      if (id === undefined) return entry.def.list || entry.def.text ? { verb: 'list' } : notAllowed();
      return entry.def.get ? { verb: 'get', id } : notAllowed();
    case 'POST':
      if (action !== undefined) {
        if (id === undefined) return notAllowed();
        if (!entry.def.actions?.[action]) throw new NotFoundError(`${entry.def.kind} has no action ${action}`);
        return { verb: 'action', id, action };
      }
      return id === undefined && entry.def.create ? { verb: 'create' } : notAllowed();
    case 'PUT':
      return id !== undefined && entry.def.update ? { verb: 'update', id } : notAllowed();
    case 'DELETE':
      return id !== undefined && entry.def.remove ? { verb: 'delete', id } : notAllowed();
    default:
      return notAllowed();
  }
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequestError(`path segment "${segment.slice(0, 100)}" is not valid percent-encoding`);
  }
}

/** Step 1: which resource and operation the request line names. An unknown path throws 404 at once. */
export function resolve(registry: ResourceRegistry, line: RequestLine): Resolution {
  const segments = line.path.split('/').filter(Boolean).map(decodePathSegment);
  const path = resolvePath(registry, segments, line.baseUrl);
  try {
    return { path, operation: operationOf(line.method, line.action, path) };
  } catch (err) {
    return { path, refusal: err as Error };
  }
}

/** The action an operation runs, if it is one. */
export function actionOf(path: ResolvedPath, operation: Operation): ActionDefinition | undefined {
  return operation.verb === 'action' ? path.entry.def.actions?.[operation.action] : undefined;
}

/**
 * Step 2: who asks (`identify`: the bearer token or the web session, authn.ts; 401 without a
 * valid one), except for a public action (login). Only then is a refused method or unknown
 * action reported, so anonymous callers learn nothing but 401.
 */
export async function authenticate(
  resolution: Resolution,
  identify: () => Promise<Principal>,
): Promise<{ user: Principal | undefined; operation: Operation }> {
  const isPublic = 'operation' in resolution && actionOf(resolution.path, resolution.operation)?.public === true;
  const user = isPublic ? undefined : await identify();
  if ('refusal' in resolution) throw resolution.refusal;
  return { user, operation: resolution.operation };
}

/** The JSON body, or undefined when empty; malformed JSON is a 422 InvalidFormat. */
export function readBody(text: unknown): unknown {
  const body = typeof text === 'string' ? text : '';
  if (body.trim() === '') return undefined;
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new MalformedError(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Step 3: the one authorizer's decision; a refusal is 403. A public action needs none. */
export function authorize(user: Principal | undefined, path: ResolvedPath, operation: Operation): Extract<Decision, { allowed: true }> {
  if (!user) return { allowed: true };
  const decision = decide(user, {
    verb: operation.verb,
    kind: path.entry.def.kind,
    ancestry: path.ancestry,
    id: 'id' in operation ? operation.id : undefined,
    action: operation.verb === 'action' ? operation.action : undefined,
  });
  if (!decision.allowed) throw new ForbiddenError(decision.reason);
  return decision;
}

/**
 * Step 4: every ancestor's guard (a cluster answers 404/503 for what is below it), then, when
 * the grant is narrowed, the object a write or action addresses must be one it covers: it is
 * read to decide (404 when absent, 403 when hidden).
 */
export async function guard(
  registry: ResourceRegistry,
  ctx: RequestContext,
  path: ResolvedPath,
  operation: Operation,
  decision: Extract<Decision, { allowed: true }>,
): Promise<void> {
  if (!path.entry.def.servedWhileParentUnavailable) {
    for (const step of path.ancestry) await registry.byKind(step.kind)?.def.guardChildren?.(ctx, step.id);
  }
  if (!decision.visible || (operation.verb !== 'update' && operation.verb !== 'delete' && operation.verb !== 'action')) return;
  const { def } = path.entry;
  const object = def.get ? await def.get(ctx, operation.id) : undefined;
  if (!object) throw new NotFoundError(`${def.kind} ${operation.id} not found`);
  if (!decision.visible(object)) throw new ForbiddenError(`no access to ${def.kind} ${operation.id}`);
}

/** Step 5: the body parsed by the operation's zod schema (422 naming the field); undefined when it takes none. */
export function validate(path: ResolvedPath, operation: Operation, body: unknown): unknown {
  const { def } = path.entry;
  switch (operation.verb) {
    case 'create':
      return parseInput(def.create!.input, body ?? {});
    case 'update':
      return parseInput(def.update!.input, body ?? {});
    case 'action': {
      const input = actionOf(path, operation)!.input;
      return input ? parseInput(input, body ?? {}) : undefined;
    }
    default:
      return undefined;
  }
}

/** What a handler produced, before it is shaped into the answer. */
export type Outcome =
  | { kind: 'collection'; items: ApiObject[] }
  /** Serialised items of a cachedList, from the fragment cache. */
  | { kind: 'fragments'; fragments: Fragment[] }
  | { kind: 'text'; lines: readonly string[] }
  | { kind: 'object'; status: 200 | 201; object: ApiObject }
  | { kind: 'output'; output: unknown }
  | { kind: 'deleted' };

function filtersOf(query: Readonly<Record<string, string>>): Array<[string, string]> {
  return Object.entries(query).filter(([key]) => !LIST_PARAMETERS.has(key));
}

function fail(message: string): never {
  throw new Error(message);
}

/** `?field=value` keeps objects whose top-level string `field` equals value. */
export function applyFilters(items: ApiObject[], query: Readonly<Record<string, string>>): ApiObject[] {
  const filters = filtersOf(query);
  if (filters.length === 0) return items;
  return items.filter((item) => filters.every(([key, value]) => typeof item[key] !== 'string' || item[key] === value));
}

/** Step 6: runs the resource's handler. Lists are filtered (query, narrowed grant); a missing object is 404, a hidden one 403. */
export async function dispatch(
  path: ResolvedPath,
  ctx: RequestContext,
  operation: Operation,
  input: unknown,
  decision: Extract<Decision, { allowed: true }>,
  /** Where cachedList lists keep their serialised items; without it they are translated each time. */
  fragments?: FragmentCache,
): Promise<Outcome> {
  const { def } = path.entry;
  switch (operation.verb) {
    case 'list': {
      if (def.text) return { kind: 'text', lines: await def.text(ctx) };
      // Nothing to filter on the translated objects: each one's serialised form serves as is.
      if (def.cachedList && fragments && !decision.visible && filtersOf(ctx.query).length === 0) {
        const { view, toApi } = def.cachedList;
        return {
          kind: 'fragments',
          fragments: def.cachedList.objects(ctx).map((o) => {
            const make = () => fragmentOf(toApi(o)) ?? fail(`${def.kind} ${o.metadata.name}: a field named type or links cannot be a fragment`);
            return o.metadata.uid && o.metadata.resourceVersion ? fragments.get(view, o.metadata.uid, o.metadata.resourceVersion, make) : make();
          }),
        };
      }
      const items = applyFilters(await def.list!(ctx), ctx.query).filter((o) => decision.visible?.(o) ?? true);
      return { kind: 'collection', items };
    }
    case 'get': {
      const object = await def.get!(ctx, operation.id);
      if (!object) throw new NotFoundError(`${def.kind} ${operation.id} not found`);
      if (decision.visible && !decision.visible(object)) throw new ForbiddenError(`no access to ${def.kind} ${operation.id}`);
      return { kind: 'object', status: 200, object };
    }
    case 'create':
      return { kind: 'object', status: 201, object: await def.create!.run(ctx, input) };
    case 'update':
      return { kind: 'object', status: 200, object: await def.update!.run(ctx, operation.id, input) };
    case 'delete':
      await def.remove!(ctx, operation.id);
      return { kind: 'deleted' };
    case 'action':
      return { kind: 'output', output: (await actionOf(path, operation)!.run(ctx, operation.id, input)) ?? {} };
  }
}

/** Step 7: the outcome as zcloud.cn answers it: objects with id, type, links and creationTimestamp; lists in a collection envelope. */
export function shape(path: ResolvedPath, outcome: Outcome): Answer {
  const { entry, collectionUrl } = path;
  switch (outcome.kind) {
    case 'collection':
      return {
        status: 200,
        collection: { head: collectionHead(entry.def.kind, collectionUrl), items: outcome.items.map(itemSerializer(entry, collectionUrl)), tail: ']}' },
      };
    case 'fragments':
      return { status: 200, collection: { head: collectionHead(entry.def.kind, collectionUrl), items: outcome.fragments.map(linkedItem(entry, collectionUrl)), tail: ']}' } };
    case 'object':
      return { status: outcome.status, body: shapeItem(entry, collectionUrl, outcome.object) };
    case 'output':
      return { status: 200, body: outcome.output };
    case 'text':
      return { status: 200, text: outcome.lines.map((line) => `${line}\n`).join('') };
    case 'deleted':
      // 204 for every kind, also when deletion continues in the background (a namespace
      // finalizing, a quota's namespace going): the seed says so, and its clients treat any
      // other status as a failure, then poll until 404 (issue 15).
      return { status: 204 };
  }
}
