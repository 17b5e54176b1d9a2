import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import express, { type Request, type Response } from 'express';
import { bodyText } from './request-body.js';
import { UnauthorizedError } from '../../src/errors.js';
import type { Principal } from '../../src/users.js';
import type { ApiServices } from '../services.js';
import { errorResponse, logServerError, writeAnswer, type Answer } from './answers.js';
import { auditRequest } from './audit-request.js';
import { authenticateCredentials } from './authn.js';
import type { ResourceRegistry } from './registry.js';
import { requestOrigin, sourceAddress } from './request-origin.js';
import { authenticate, authorize, dispatch, guard, readBody, resolve, shape, validate, type Operation, type Resolution, type ResolvedPath } from './request-steps.js';
import { firstQueryValues, headerValue, type ApiRequest } from './api-request.js';
import { noteRequestUser } from './request-user.js';
import { collectionHead } from './collection-json.js';
import { LIST_PARAMETERS, ListSnapshots, pageRequest } from './list-pages.js';
import { FragmentCache } from './fragment-cache.js';
import type { Decision } from '../../src/auth/authorizer.js';
import type { RequestContext } from './resource.js';

export const API_PREFIX = '/apis/zcloud.cn/v1';

export interface ApiRouterOptions {
  registry: ResourceRegistry;
  services: ApiServices;
}

/** What the audit trail records of a request, filled in as the steps learn it. */
export interface AuditFacts {
  user?: Principal;
  /** The validated input; unset when the request failed before validation passed. */
  body?: unknown;
  sensitiveFields: readonly string[];
}

function requestContext(request: ApiRequest, res: ServerResponse, services: ApiServices, path: ResolvedPath, user: Principal | undefined): RequestContext {
  return {
    user,
    parents: Object.fromEntries(path.ancestry.map((s) => [s.kind, s.id])),
    query: request.query,
    services,
    sourceAddress: request.sourceAddress,
    setHeader: (name, value) => void res.setHeader(name, value),
    header: (name) => headerValue(request.headers, name.toLowerCase()),
    requireUser: () => {
      if (!user) throw new UnauthorizedError('authentication required');
      return user;
    },
  };
}

/** Resolves the request line (step 1); throws 404 for a path that names no collection. */
export function resolveRequest(registry: ResourceRegistry, request: ApiRequest): Resolution {
  return resolve(registry, { method: request.method, path: request.path, action: request.action, baseUrl: `${request.origin}${API_PREFIX}` });
}

/**
 * Runs the steps of request-steps.ts in order for a resolved request; throws what the first
 * failing step throws. Both the Express router and direct-gets.ts answer through it.
 */
export async function answer(request: ApiRequest, res: ServerResponse, resolution: Resolution, { registry, services }: ApiRouterOptions, facts: AuditFacts, lists: ListCaches): Promise<Answer> {
  const { path } = resolution;
  facts.sensitiveFields = path.entry.def.sensitiveFields ?? [];
  const credentials = { method: request.method, headers: request.headers, selfOrigin: request.origin };
  const { user, operation } = await authenticate(resolution, () => authenticateCredentials(credentials, services.users));
  facts.user = user;
  noteRequestUser(res, user?.name);
  const body = readBody(request.body);
  const decision = authorize(user, path, operation);
  const ctx = requestContext(request, res, services, path, user);
  await guard(registry, ctx, path, operation, decision);
  if (operation.verb === 'list' && !path.entry.def.text) return answerList(request, ctx, path, operation, decision, lists);
  // A cached object's answer has a version too: 304 while the client holds it.
  const etag = operation.verb === 'get' && path.entry.def.version ? versionTag(path.entry.def.version(ctx), request, ctx, '') : undefined;
  if (etag && ifNoneMatch(headerValue(request.headers, 'if-none-match'), etag)) return { status: 304, headers: { ETag: etag } };
  const input = validate(path, operation, body);
  // The trail keeps what was accepted, not what was sent: junk fields and refused bodies
  // (anonymous ones included) would let anyone grow it at will.
  facts.body = input;
  const shaped = shape(path, await dispatch(path, ctx, operation, input, decision));
  return etag ? { ...shaped, headers: { ...shaped.headers, ETag: etag } } : shaped;
}

/** What lists keep between requests: continue snapshots and serialised items. */
export interface ListCaches {
  snapshots: ListSnapshots;
  fragments: FragmentCache;
}

/** Empty list caches; the fragments bounded by `fragmentCacheMaxChars` (ZCLOUD_LIST_FRAGMENT_CACHE). */
export function listCaches(fragmentCacheMaxChars: number): ListCaches {
  return { snapshots: new ListSnapshots(), fragments: new FragmentCache(fragmentCacheMaxChars) };
}

/** Who sees what: the same resource for another user, origin (links) or query is another answer. */
function viewOf(request: ApiRequest, ctx: RequestContext): string {
  return `${ctx.user?.name ?? ''}\n${JSON.stringify(ctx.user?.projects ?? [])}\n${request.origin}${request.path}\n${JSON.stringify(filterQuery(ctx.query))}`;
}

/** A weak ETag from the version of what the answer is derived from and whose answer it is: no body is hashed. */
function versionTag(version: string, request: ApiRequest, ctx: RequestContext, page: string): string {
  return `W/"${createHash('sha1').update(`${version}\n${viewOf(request, ctx)}\n${page}`).digest('base64url')}"`;
}

/**
 * A list: 304 when the client holds its current version, else the items, a page of them when
 * `limit` or `continue` asks (list-pages.ts).
 */
async function answerList(
  request: ApiRequest,
  ctx: RequestContext,
  path: ResolvedPath,
  operation: Operation,
  decision: Extract<Decision, { allowed: true }>,
  { snapshots, fragments }: ListCaches,
): Promise<Answer> {
  const paging = pageRequest(ctx.query);
  const { def } = path.entry;
  const listing = viewOf(request, ctx);
  const headers: Record<string, string> = {};
  if (def.version && !paging.next) {
    const etag = versionTag(def.version(ctx), request, ctx, String(paging.limit ?? ''));
    headers.ETag = etag;
    if (ifNoneMatch(headerValue(request.headers, 'if-none-match'), etag)) return { status: 304, headers };
  }
  let built: readonly string[] | undefined;
  if (!paging.next) {
    const shaped = shape(path, await dispatch(path, ctx, operation, undefined, decision, fragments));
    built = shaped.collection!.items;
  }
  const page = snapshots.page(listing, paging, () => built!);
  const tail = page.continue === undefined ? ']}' : `],"continue":${JSON.stringify(page.continue)}}`;
  return { status: 200, headers, collection: { head: collectionHead(def.kind, path.collectionUrl), items: page.items, tail } };
}

function filterQuery(query: Readonly<Record<string, string>>): Array<[string, string]> {
  return Object.entries(query)
    .filter(([key]) => !LIST_PARAMETERS.has(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Whether an If-None-Match header names `etag` (weak comparison, as for GET). */
function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === opaque);
}

/**
 * The whole zcloud.cn/v1 surface, derived from the registry. Every request is answered by the
 * same steps (request-steps.ts), audited, and written; errors in the one error envelope
 * (answers.ts). Resource files hold no Express code.
 */
export function createApiRouter(options: ApiRouterOptions, lists: ListCaches = listCaches(options.services.config.fragmentCacheMaxChars)): express.Router {
  const { services } = options;
  const router = express.Router();
  router.use(bodyText('10mb'));

  router.use(async (req: Request, res: Response) => {
    const facts: AuditFacts = { sensitiveFields: [] };
    const request = expressRequest(req);
    let result: Answer;
    try {
      result = await answer(request, res, resolveRequest(options.registry, request), options, facts, lists);
    } catch (err) {
      result = errorResponse(err, 'zcloud');
      logServerError(services.logger, 'request failed', req.path, err, result);
    }
    await auditRequest(services, req, { user: facts.user?.name, status: result.status, body: facts.body, sensitiveFields: facts.sensitiveFields });
    writeAnswer(res, result);
  });
  return router;
}

function expressRequest(req: Request): ApiRequest {
  return {
    method: req.method,
    path: req.path,
    query: firstQueryValues(req.query),
    action: typeof req.query.action === 'string' ? req.query.action : undefined,
    headers: req.headers,
    origin: requestOrigin(req),
    sourceAddress: sourceAddress(req),
    body: req.body,
  };
}
