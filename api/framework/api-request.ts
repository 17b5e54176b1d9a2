import type { IncomingHttpHeaders } from 'node:http';

/** A zcloud.cn request as the steps read it, whichever server took it (Express, or direct-gets.ts). */
export interface ApiRequest {
  method: string;
  /** Below the API prefix, still URL-encoded: `/clusters/c1/nodes`. */
  path: string;
  /** Query parameters, the first value of each. */
  query: Readonly<Record<string, string>>;
  /** `?action=`, when given once. */
  action: string | undefined;
  headers: IncomingHttpHeaders;
  /** Where the client reached zcloud (requestOrigin), for links and the session's same-origin check. */
  origin: string;
  /** The client's address (sourceAddress), for the login throttle. */
  sourceAddress: string;
  /** The body text; undefined for methods without one. */
  body: unknown;
}

/** A request header's first value; `name` in lower case, as Node keys them. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The first value of each parameter of a parsed query string (`a=1&a=2` → `a: '1'`). */
export function firstQueryValues(query: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') out[key] = first;
  }
  return out;
}
