import { createHash } from 'node:crypto';
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
import { authenticate, authorize, dispatch, guard, readBody, resolve, shape, validate, type Operation, type ResolvedPath } from './request-steps.js';
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
interface AuditFacts {
  user?: Principal;
  /** The validated input; unset when the request failed before validation passed. */
  body?: unknown;
  sensitiveFields: readonly string[];
}

function firstQueryValues(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.query)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') out[key] = first;
  }
  return out;
}

function requestContext(req: Request, res: Response, services: ApiServices, path: ResolvedPath, user: Principal | undefined): RequestContext {
  return {
    user,
    parents: Object.fromEntries(path.ancestry.map((s) => [s.kind, s.id])),
    query: firstQueryValues(req),
    services,
    sourceAddress: sourceAddress(req),
    setHeader: (name, value) => void res.setHeader(name, value),
    header: (name) => req.get(name),
    requireUser: () => {
      if (!user) throw new UnauthorizedError('authentication required');
      return user;
    },
  };
}

/** Runs the steps of request-steps.ts in order; throws what the first failing step throws. */
async function answer(req: Request, res: Response, { registry, services }: ApiRouterOptions, facts: AuditFacts, snapshots: ListSnapshots, fragments: FragmentCache): Promise<Answer> {
  const resolution = resolve(registry, {
    method: req.method,
    path: req.path,
    action: typeof req.query.action === 'string' ? req.query.action : undefined,
    baseUrl: `${requestOrigin(req)}${API_PREFIX}`,
  });
  const { path } = resolution;
  facts.sensitiveFields = path.entry.def.sensitiveFields ?? [];
  const credentials = { method: req.method, headers: req.headers, selfOrigin: requestOrigin(req) };
  const { user, operation } = await authenticate(resolution, () => authenticateCredentials(credentials, services.users));
  facts.user = user;
  res.locals.user = user?.name;
  const body = readBody(req.body);
  const decision = authorize(user, path, operation);
  const ctx = requestContext(req, res, services, path, user);
  await guard(registry, ctx, path, operation, decision);
  if (operation.verb === 'list' && !path.entry.def.text) return answerList(req, ctx, path, operation, decision, snapshots, fragments);
  const input = validate(path, operation, body);
  // The trail keeps what was accepted, not what was sent: junk fields and refused bodies
  // (anonymous ones included) would let anyone grow it at will.
  facts.body = input;
  return shape(path, await dispatch(path, ctx, operation, input, decision));
}

/**
 * A list: 304 when the client holds its current version (listVersion), else the items, a page
 * of them when `limit` or `continue` asks (list-pages.ts).
 */
async function answerList(
  req: Request,
  ctx: RequestContext,
  path: ResolvedPath,
  operation: Operation,
  decision: Extract<Decision, { allowed: true }>,
  snapshots: ListSnapshots,
  fragments: FragmentCache,
): Promise<Answer> {
  const paging = pageRequest(ctx.query);
  const { def } = path.entry;
  // Who sees what: the same list for another user, origin (links) or query is another answer.
  const listing = `${ctx.user?.name ?? ''}\n${JSON.stringify(ctx.user?.projects ?? [])}\n${requestOrigin(req)}${req.path}\n${JSON.stringify(filterQuery(ctx.query))}`;
  const headers: Record<string, string> = {};
  if (def.listVersion && !paging.next) {
    const etag = `W/"${createHash('sha1').update(`${def.listVersion(ctx)}\n${listing}\n${paging.limit ?? ''}`).digest('base64url')}"`;
    headers.ETag = etag;
    if (ifNoneMatch(req.get('if-none-match'), etag)) return { status: 304, headers };
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
export function createApiRouter(options: ApiRouterOptions): express.Router {
  const { services } = options;
  const router = express.Router();
  router.use(bodyText('10mb'));
  const snapshots = new ListSnapshots();
  const fragments = new FragmentCache(options.services.config.fragmentCacheMaxChars);

  router.use(async (req: Request, res: Response) => {
    const facts: AuditFacts = { sensitiveFields: [] };
    let result: Answer;
    try {
      result = await answer(req, res, options, facts, snapshots, fragments);
    } catch (err) {
      result = errorResponse(err, 'zcloud');
      logServerError(services.logger, 'request failed', req.path, err, result);
    }
    await auditRequest(services, req, { user: facts.user?.name, status: result.status, body: facts.body, sensitiveFields: facts.sensitiveFields });
    writeAnswer(res, result);
  });
  return router;
}
