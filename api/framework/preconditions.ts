import { BadRequestError } from '../../src/errors.js';
import type { RequestContext } from './resource.js';

/** The ETag of a stored record's version (a strong tag: the version changes with every write). */
export function entityTag(version: string): string {
  return `"${version}"`;
}

/**
 * The version a write must apply over, from If-Match: the version of the one strong tag it
 * names, or undefined without a header or with `*` (the write is then conditional on the
 * version it reads itself). A weak tag never matches a strong one (RFC 9110 §13.1.1), so it
 * names no version and the write fails as a conflict; several tags are refused (400).
 */
export function ifMatchVersion(ctx: RequestContext): string | undefined {
  const header = ctx.header('if-match')?.trim();
  if (header === undefined || header === '' || header === '*') return undefined;
  const tag = /^(W\/)?"([\x21\x23-\x7e]*)"$/.exec(header);
  if (!tag) throw new BadRequestError('If-Match must be "*" or one entity tag, as sent in ETag');
  return tag[1] ? header : tag[2]!;
}
