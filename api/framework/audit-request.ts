import type { Request } from 'express';
import { redact } from '../../src/audit.js';
import type { ApiServices } from '../services.js';
import { sourceAddress } from './request-origin.js';

export function fullPath(req: Request): string {
  return req.originalUrl.split('?')[0];
}

export interface AuditedRequest {
  user: string | undefined;
  status: number;
  body: unknown;
  /** Extra body keys to redact. */
  sensitiveFields?: readonly string[];
}

/** Bodies larger than this (as JSON) are recorded as their size only. */
export const AUDIT_BODY_MAX_BYTES = 8 * 1024;

/** `body`, or a summary of its size when its JSON exceeds AUDIT_BODY_MAX_BYTES: an entry's size is bounded. */
function bounded(body: unknown): unknown {
  const bytes = Buffer.byteLength(JSON.stringify(body) ?? '');
  return bytes > AUDIT_BODY_MAX_BYTES ? { truncated: true, bytes } : body;
}

/**
 * Records a mutating request in the audit trail, body redacted and bounded; a request refused
 * for its credentials (401) is recorded without its body. The response reports what
 * happened to the resource; a failed audit write must not turn a done change into an error,
 * so it is logged loudly instead.
 */
export async function auditRequest(services: ApiServices, req: Request, entry: AuditedRequest): Promise<void> {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  try {
    await services.audit.record({
      user: entry.user ?? 'anonymous',
      verb: req.method,
      path: fullPath(req),
      ...(typeof req.query.action === 'string' ? { action: req.query.action } : {}),
      status: entry.status,
      sourceIP: sourceAddress(req),
      ...(entry.body !== undefined && entry.status !== 401 ? { body: bounded(redact(entry.body, entry.sensitiveFields)) } : {}),
    });
  } catch (err) {
    services.logger.error('audit write failed', { path: fullPath(req), verb: req.method, error: (err as Error).message });
  }
}
