import type { IncomingHttpHeaders } from 'node:http';
import type { Request } from 'express';
import { ForbiddenError, UnauthorizedError } from '../../src/errors.js';
import type { TokenAudience } from '../../src/auth/tokens.js';
import type { Principal, UserService } from '../../src/users.js';
import { headerValue } from './api-request.js';

/** What authentication needs of the users: a token in, its user out (or UnauthorizedError). */
export type TokenAuthenticator = Pick<UserService, 'authenticate'>;

/** The web session cookie the console's login sets (the name singlecloud's console expects). */
export const SESSION_COOKIE = '_jwt_session';

/** Resolves an `Authorization: Bearer <token>` header value to a user; missing, invalid or expired → 401. */
export async function authenticateBearer(header: string | undefined, users: TokenAuthenticator, audience: TokenAudience = 'zcloud'): Promise<Principal> {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new UnauthorizedError('missing bearer token in the Authorization header');
  return users.authenticate(match[1], audience);
}

/** The user of `req`'s bearer token for `audience`'s API; see authenticateBearer. */
export async function authenticateRequest(req: Request, users: TokenAuthenticator, audience: TokenAudience): Promise<Principal> {
  return authenticateBearer(req.get('authorization'), users, audience);
}

/** The value of cookie `name` in a `Cookie` header, if present. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return decodeCookieValue(pair.slice(at + 1).trim());
  }
  return undefined;
}

function decodeCookieValue(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch (err) {
    // A value no browser of ours set (bad %-escape): no session, so 401 rather than a 500.
    if (err instanceof URIError) return undefined;
    throw err;
  }
}

/** The parts of an HTTP request (an API call or, later, a websocket upgrade) authentication reads. */
export interface CredentialSource {
  method: string;
  headers: IncomingHttpHeaders;
  /** The origin zcloud is reached at (requestOrigin): a session's writes must come from a page of it. */
  selfOrigin: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Who sends `request`: its bearer token when it has an Authorization header (scripts, the
 * OSP), else its web session cookie (the console, which never sends one). A request with
 * neither, or whose credential is invalid, expired or logged out, is 401. Use it for every
 * route and every websocket that serves the console.
 *
 * A cookie rides along on requests other sites make the browser send, so a session's
 * non-GET request is honoured only from a page of zcloud's own origin (`Origin`, or the
 * `Referer` when a browser sends no Origin) and only as JSON, which a plain cross-site form
 * cannot send: 403 otherwise (requireSessionWrite). A websocket upgrade is a GET, but it can
 * act, so its code should also call requireSameOrigin.
 */
export async function authenticateCredentials(request: CredentialSource, users: TokenAuthenticator): Promise<Principal> {
  const authorization = headerValue(request.headers, 'authorization');
  const session = cookieValue(headerValue(request.headers, 'cookie'), SESSION_COOKIE);
  if (authorization !== undefined || session === undefined) return authenticateBearer(authorization, users);
  const user = await users.authenticate(session);
  if (!SAFE_METHODS.has(request.method.toUpperCase())) requireSessionWrite(request);
  return user;
}

/** 403 unless `request` comes from a page of zcloud's own origin (Origin, else Referer). */
export function requireSameOrigin(request: CredentialSource): void {
  const origin = pageOrigin(request);
  if (origin !== request.selfOrigin) {
    throw new ForbiddenError(`a session request must come from ${request.selfOrigin} (Origin or Referer), not ${origin ?? 'an unknown page'}`);
  }
}

/**
 * 403 when `request` shows it came from another site: a foreign `Origin`/`Referer`, or a browser's
 * `Sec-Fetch-Site` other than same-origin/none. Without any of them (a script) it passes. For
 * session GETs that still act (the console's logout), where requiring a page of zcloud would
 * refuse the scripts that call them.
 */
export function refuseCrossSite(request: CredentialSource): void {
  const fetchSite = headerValue(request.headers, 'sec-fetch-site');
  const origin = pageOrigin(request);
  const foreignOrigin = origin !== undefined && origin !== request.selfOrigin;
  if (foreignOrigin || (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none')) {
    throw new ForbiddenError(`a session request must come from ${request.selfOrigin}, not ${origin ?? `a ${fetchSite} page`}`);
  }
}

/** 403 unless a session's write is same-origin and JSON (what the console sends on every request). */
export function requireSessionWrite(request: CredentialSource): void {
  requireSameOrigin(request);
  const contentType = headerValue(request.headers, 'content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new ForbiddenError('a session request that changes something must be sent as Content-Type: application/json');
  }
}

/** The origin of the page that sent `request`: its Origin header, else its Referer's. */
function pageOrigin(request: CredentialSource): string | undefined {
  return headerValue(request.headers, 'origin') ?? originOfUrl(headerValue(request.headers, 'referer'));
}

function originOfUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined; // not a URL: treated as no Referer, so refused
  }
}
