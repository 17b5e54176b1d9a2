import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { errorResponse, logServerError, type Answer } from './answers.js';
import { firstQueryValues, type ApiRequest } from './api-request.js';
import type { Resolution } from './request-steps.js';
import { answer, API_PREFIX, resolveRequest, type ApiRouterOptions, type AuditFacts, type ListCaches } from './router.js';

/**
 * Takes a request Express would otherwise route, answering true, or leaves it (false). Called
 * with every request before Express.
 */
export type DirectHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * GETs of one object whose resource declares a `version` (read from one cluster's cache),
 * answered straight on Node's request and response: the same resolution, authentication,
 * authorization, guards and handler as through Express (router.ts `answer`), without Express's
 * middleware, routing and body hashing. The hot path of clients polling objects (issue 20).
 * Everything else (lists, writes, unknown paths, and every request when proxies are trusted,
 * whose forwarded headers Express interprets) is left to Express. A GET writes nothing to the
 * audit trail, on either path.
 */
export function directGets(options: ApiRouterOptions, lists: ListCaches, observe: DirectHandlerObserver): DirectHandler {
  if (options.services.config.trustedProxies.length > 0) return () => false;
  return (req, res) => {
    const url = req.url ?? '';
    if (req.method !== 'GET' || !url.startsWith(`${API_PREFIX}/`)) return false;
    const queryAt = url.indexOf('?');
    const query = firstQueryValues(queryAt < 0 ? {} : parseQuery(url.slice(queryAt + 1)));
    const request: ApiRequest = {
      method: 'GET',
      path: url.slice(API_PREFIX.length, queryAt < 0 ? undefined : queryAt),
      query,
      action: query.action,
      headers: req.headers,
      origin: `http://${req.headers.host ?? 'localhost'}`,
      sourceAddress: req.socket.remoteAddress ?? '',
      body: undefined,
    };
    let resolution: Resolution;
    try {
      resolution = resolveRequest(options.registry, request);
    } catch {
      return false; // Express answers the unknown path (and its error) as for any method
    }
    if (!('operation' in resolution) || resolution.operation.verb !== 'get' || !resolution.path.entry.def.version) return false;
    observe(req, res);
    answerDirect(request, res, resolution, options, lists).catch((err: unknown) => {
      // Only writing can fail here (answer's own errors are answered): the client is gone or cut.
      options.services.logger.warn('writing an answer failed', { path: request.path, error: (err as Error).message });
      res.destroy();
    });
    return true;
  };
}

/** What records the request (metrics and log line: request-observer.ts). */
export type DirectHandlerObserver = (req: IncomingMessage, res: ServerResponse) => void;

async function answerDirect(request: ApiRequest, res: ServerResponse, resolution: Resolution, options: ApiRouterOptions, lists: ListCaches): Promise<void> {
  const facts: AuditFacts = { sensitiveFields: [] };
  let result: Answer;
  try {
    result = await answer(request, res, resolution, options, facts, lists);
  } catch (err) {
    result = errorResponse(err, 'zcloud');
    logServerError(options.services.logger, 'request failed', request.path, err, result);
  }
  writeBody(res, result);
}

/** An object, an error or a 304, as Express's res.json would write it (its ETag aside). */
function writeBody(res: ServerResponse, result: Answer): void {
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  if (result.body === undefined) {
    res.writeHead(result.status).end();
    return;
  }
  const text = JSON.stringify(result.body);
  res.writeHead(result.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
