import type { ServerResponse } from 'node:http';

/** Whom each answered request was for, for its log line (request-observer.ts). */
const requestUsers = new WeakMap<ServerResponse, string>();

/** Records the caller of the request `res` answers, once known. */
export function noteRequestUser(res: ServerResponse, user: string | undefined): void {
  if (user !== undefined) requestUsers.set(res, user);
}

export function requestUserOf(res: ServerResponse): string | undefined {
  return requestUsers.get(res);
}
