import type { Request } from 'express';
import { UnauthorizedError } from '../../src/errors.js';
import type { Principal, UserService } from '../../src/users.js';

/** Resolves `Authorization: Bearer <token>` to a user; missing, invalid or expired → 401. */
export async function authenticateRequest(req: Request, users: UserService): Promise<Principal> {
  const header = req.get('authorization');
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new UnauthorizedError('missing bearer token in the Authorization header');
  return users.authenticate(match[1]);
}
