import type { Request } from 'express';
import { UnauthorizedError } from '../../src/errors.js';
import type { Principal, UserService } from '../../src/users.js';

/** What authentication needs of the users: a token in, its user out (or UnauthorizedError). */
export type TokenAuthenticator = Pick<UserService, 'authenticate'>;

/** Resolves an `Authorization: Bearer <token>` header value to a user; missing, invalid or expired → 401. */
export async function authenticateBearer(header: string | undefined, users: TokenAuthenticator): Promise<Principal> {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new UnauthorizedError('missing bearer token in the Authorization header');
  return users.authenticate(match[1]);
}

/** The user of `req`'s bearer token; see authenticateBearer. */
export async function authenticateRequest(req: Request, users: TokenAuthenticator): Promise<Principal> {
  return authenticateBearer(req.get('authorization'), users);
}
