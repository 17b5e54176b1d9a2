import express, { type Request, type Response } from 'express';
import { authorize, type AccessRequest, type Decision, type PathStep, type Verb } from '../../src/auth/authorizer.js';
import { ForbiddenError, MalformedError, MethodNotAllowedError, NotFoundError, UnauthorizedError } from '../../src/errors.js';
import type { Principal } from '../../src/users.js';
import type { ApiServices } from '../services.js';
import { auditRequest } from './audit-request.js';
import { authenticateRequest } from './authn.js';
import { parseInput, toHttpError } from './http-errors.js';
import type { RegisteredResource, ResourceRegistry } from './registry.js';
import type { ApiObject, RequestContext } from './resource.js';

export const API_PREFIX = '/apis/zcloud.cn/v1';

/** Where a request path lands in the resource tree. */
interface ResolvedPath {
  entry: RegisteredResource;
  ancestry: PathStep[];
  id?: string;
  /** Absolute URL of the collection the request addresses. */
  collectionUrl: string;
}

type Operation =
  | { verb: 'list' }
  | { verb: 'get'; id: string }
  | { verb: 'create' }
  | { verb: 'update'; id: string }
  | { verb: 'delete'; id: string }
  | { verb: 'action'; id: string; action: string };

function resolvePath(registry: ResourceRegistry, segments: string[], baseUrl: string): ResolvedPath {
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

/** Methods a resource (or its collection) serves, for 405's Allow header. */
function allowedMethods(entry: RegisteredResource, onItem: boolean): string[] {
  const d = entry.def;
  if (!onItem) return [d.list && 'GET', (d.create || hasActions(entry)) && 'POST'].filter(Boolean) as string[];
  return [d.get && 'GET', d.update && 'PUT', d.remove && 'DELETE', hasActions(entry) && 'POST'].filter(Boolean) as string[];
}

function hasActions(entry: RegisteredResource): boolean {
  return Object.keys(entry.def.actions ?? {}).length > 0;
}

function operationOf(req: Request, resolved: ResolvedPath): Operation {
  const { entry, id } = resolved;
  const action = typeof req.query.action === 'string' ? req.query.action : undefined;
  const notAllowed = (): never => {
    const allowed = allowedMethods(entry, id !== undefined);
    throw new MethodNotAllowedError(
      `${req.method} is not supported on ${id === undefined ? `collection ${entry.collectionName}` : entry.def.kind} (allowed: ${allowed.join(', ') || 'none'})`,
      allowed,
    );
  };
  switch (req.method) {
    case 'GET':
      if (id === undefined) return entry.def.list ? { verb: 'list' } : notAllowed();
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

function parseBody(req: Request): unknown {
  const text = typeof req.body === 'string' ? req.body : '';
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MalformedError(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

function firstQueryValues(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.query)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') out[key] = first;
  }
  return out;
}

/** `?field=value` keeps objects whose top-level string `field` equals value. */
function applyFilters(items: ApiObject[], query: Record<string, string>): ApiObject[] {
  const filters = Object.entries(query).filter(([key]) => key !== 'action');
  if (filters.length === 0) return items;
  return items.filter((item) => filters.every(([key, value]) => typeof item[key] !== 'string' || item[key] === value));
}

export interface ApiRouterOptions {
  registry: ResourceRegistry;
  services: ApiServices;
}

/**
 * The whole zcloud.cn/v1 surface, derived from the registry: path resolution, 405s, body
 * parsing, authentication, the one authorizer, zod validation, links, collections, errors and
 * the audit trail. Resource files hold no Express code.
 */
export function createApiRouter({ registry, services }: ApiRouterOptions): express.Router {
  const router = express.Router();
  router.use(express.text({ type: () => true, limit: '10mb' }));

  router.use(async (req: Request, res: Response) => {
    const started = { user: undefined as Principal | undefined, body: undefined as unknown, sensitive: [] as readonly string[] };
    let status = 500;
    let payload: unknown;
    try {
      const baseUrl = `${req.protocol}://${req.get('host') ?? 'localhost'}${API_PREFIX}`;
      const segments = req.path.split('/').filter(Boolean).map(decodeURIComponent);
      const resolved = resolvePath(registry, segments, baseUrl);
      const { entry } = resolved;
      started.sensitive = entry.def.sensitiveFields ?? [];
      // Authenticate before reporting a 405, so anonymous callers learn nothing but 401.
      let op: Operation | undefined;
      let opError: unknown;
      try {
        op = operationOf(req, resolved);
      } catch (err) {
        opError = err;
      }
      const action = op?.verb === 'action' ? entry.def.actions![op.action] : undefined;
      if (!action?.public) started.user = await authenticateRequest(req, services.users);
      if (!op) throw opError;
      const body = parseBody(req);
      started.body = body;
      res.locals.user = started.user?.name;
      const decision: Decision = started.user
        ? authorize(started.user, {
            verb: op.verb as Verb,
            kind: entry.def.kind,
            ancestry: resolved.ancestry,
            id: 'id' in op ? op.id : undefined,
            action: op.verb === 'action' ? op.action : undefined,
          } satisfies AccessRequest)
        : { allowed: true };
      if (!decision.allowed) throw new ForbiddenError(decision.reason);

      const ctx: RequestContext = {
        user: started.user,
        parents: Object.fromEntries(resolved.ancestry.map((s) => [s.kind, s.id])),
        query: firstQueryValues(req),
        services,
        setHeader: (name, value) => void res.setHeader(name, value),
        requireUser: () => {
          if (!started.user) throw new UnauthorizedError('authentication required');
          return started.user;
        },
      };
      for (const step of resolved.ancestry) await registry.byKind(step.kind)?.def.guardChildren?.(ctx, step.id);
      const links = (object: ApiObject): Record<string, string> => linksOf(entry, resolved.collectionUrl, object.id);
      const shape = (object: ApiObject): Record<string, unknown> => {
        const { id, creationTimestamp, ...fields } = object;
        return { id, type: entry.def.kind, links: links(object), creationTimestamp: creationTimestamp ?? null, ...fields };
      };
      // A narrowed grant hides what it does not cover: the object must be read to decide.
      const checkVisible = async (id: string): Promise<void> => {
        if (!decision.visible) return;
        const object = entry.def.get ? await entry.def.get(ctx, id) : undefined;
        if (!object) throw new NotFoundError(`${entry.def.kind} ${id} not found`);
        if (!decision.visible(object)) throw new ForbiddenError(`no access to ${entry.def.kind} ${id}`);
      };

      switch (op.verb) {
        case 'list': {
          const items = applyFilters(await entry.def.list!(ctx), ctx.query).filter((o) => decision.visible?.(o) ?? true);
          status = 200;
          payload = {
            type: 'collection',
            resourceType: entry.def.kind,
            links: { self: resolved.collectionUrl },
            data: items.map(shape),
          };
          break;
        }
        case 'get': {
          const object = await entry.def.get!(ctx, op.id);
          if (!object) throw new NotFoundError(`${entry.def.kind} ${op.id} not found`);
          if (decision.visible && !decision.visible(object)) throw new ForbiddenError(`no access to ${entry.def.kind} ${op.id}`);
          status = 200;
          payload = shape(object);
          break;
        }
        case 'create': {
          const input = parseInput(entry.def.create!.input, body ?? {});
          status = 201;
          payload = shape(await entry.def.create!.run(ctx, input));
          break;
        }
        case 'update': {
          await checkVisible(op.id);
          const input = parseInput(entry.def.update!.input, body ?? {});
          status = 200;
          payload = shape(await entry.def.update!.run(ctx, op.id, input));
          break;
        }
        case 'delete': {
          await checkVisible(op.id);
          const outcome = await entry.def.remove!(ctx, op.id);
          status = outcome === 'accepted' ? 202 : 204;
          break;
        }
        case 'action': {
          await checkVisible(op.id);
          const input = action!.input ? parseInput(action!.input, body ?? {}) : undefined;
          status = 200;
          payload = (await action!.run(ctx, op.id, input)) ?? {};
          break;
        }
      }
    } catch (err) {
      const httpError = toHttpError(err);
      if (httpError.status === 500) services.logger.error('request failed', { path: req.path, error: String((err as Error)?.stack ?? err) });
      if (err instanceof MethodNotAllowedError) res.setHeader('Allow', err.allowed.join(', '));
      status = httpError.status;
      payload = { type: 'error', status: httpError.status, code: httpError.code, message: httpError.message };
    }
    await auditRequest(services, req, { user: started.user?.name, status, body: started.body, sensitiveFields: started.sensitive });
    if (status === 204 || (status === 202 && payload === undefined)) res.status(status).end();
    else res.status(status).json(payload ?? null);
  });
  return router;
}

/** self/collection/update/remove as the methods exist, plus one link per child collection. */
function linksOf(entry: RegisteredResource, collectionUrl: string, id: string): Record<string, string> {
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
