import express, { type Request, type Response } from 'express';
import { bodyText } from '../framework/request-body.js';
import { z } from 'zod';
import { UnauthorizedError } from '../../src/errors.js';
import { Sha1HexSchema } from '../../src/users.js';
import { errorResponse, logServerError, writeAnswer, type Answer } from '../framework/answers.js';
import { auditRequest } from '../framework/audit-request.js';
import { cookieValue, refuseCrossSite, SESSION_COOKIE } from '../framework/authn.js';
import { parseInput } from '../framework/http-errors.js';
import { requestOrigin, sourceAddress } from '../framework/request-origin.js';
import { readBody } from '../framework/request-steps.js';
import type { ApiServices } from '../services.js';

export const WEB_PREFIX = '/web';

/** How a web session proves its user: a zcloud token in the session cookie. */
const AUTH_BY = 'jwt';

const LoginBody = z.object({ name: z.string().min(1, 'is required'), password: Sha1HexSchema });

/**
 * `Set-Cookie` of the session: HttpOnly (page scripts never see the token), SameSite=Lax (other
 * sites' requests do not carry it, except top-level navigations, which are GETs), Secure when
 * the client reached zcloud over https (directly or through a trusted proxy), and as long-lived
 * as the token. `maxAgeSeconds: 0` clears it.
 */
function sessionCookie(req: Request, token: string, maxAgeSeconds: number): string {
  const parts = [`${SESSION_COOKIE}=${encodeURIComponent(token)}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`];
  if (req.protocol === 'https') parts.push('Secure');
  return parts.join('; ');
}

/**
 * The web console's session, for a browser that never sends an Authorization header:
 * `POST /web/login` sets the session cookie, `GET /web/role` says whose it is (`{user: ""}`
 * without a valid one: the console shows its login page then), `GET /web/logout` clears the
 * cookie and revokes its token (not when asked from another site: 403). Every /apis route accepts the cookie (authn.ts).
 */
export function createWebSessionRouter(services: ApiServices): express.Router {
  const router = express.Router();
  router.use(bodyText('64kb'));

  router.post('/login', async (req: Request, res: Response) => {
    let body: unknown;
    let result: Answer;
    try {
      body = readBody(req.body);
      const input = parseInput(LoginBody, body ?? {});
      const ttlMs = services.config.tokenTtlMs;
      const token = await services.users.login(input.name, input.password, ttlMs, sourceAddress(req), 'zcloud');
      res.setHeader('Set-Cookie', sessionCookie(req, token, Math.floor(ttlMs / 1000)));
      res.locals.user = input.name;
      result = { status: 200, body: { user: input.name, authBy: AUTH_BY } };
    } catch (err) {
      result = errorResponse(err, 'zcloud');
      logServerError(services.logger, 'web login failed', req.path, err, result);
    }
    // The password never reaches the trail: audit redaction drops `password` wherever it is.
    await auditRequest(services, req, { user: typeof res.locals.user === 'string' ? res.locals.user : undefined, status: result.status, body });
    writeAnswer(res, result);
  });

  router.get('/role', async (req: Request, res: Response) => {
    const token = cookieValue(req.get('cookie'), SESSION_COOKIE);
    const user = token ? await services.users.authenticate(token).catch(ignoreUnauthorized) : undefined;
    res.locals.user = user?.name;
    res.setHeader('Cache-Control', 'no-store');
    res.json(user ? { user: user.name, authBy: AUTH_BY } : { user: '' });
  });

  router.get('/logout', async (req: Request, res: Response) => {
    try {
      // A link on another site must not end the session (the cookie is SameSite=Lax: top-level GETs carry it).
      refuseCrossSite({ method: req.method, headers: req.headers, selfOrigin: requestOrigin(req) });
    } catch (err) {
      writeAnswer(res, errorResponse(err, 'zcloud'));
      return;
    }
    const token = cookieValue(req.get('cookie'), SESSION_COOKIE);
    // An invalid or expired token needs no revoking; the cookie goes either way.
    if (token) await services.users.revokeToken(token).catch(ignoreUnauthorized);
    res.setHeader('Set-Cookie', sessionCookie(req, '', 0));
    res.setHeader('Cache-Control', 'no-store');
    res.json({});
  });
  return router;
}

function ignoreUnauthorized(err: unknown): undefined {
  if (err instanceof UnauthorizedError) return undefined;
  throw err;
}
