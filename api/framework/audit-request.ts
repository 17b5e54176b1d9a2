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

/**
 * Records a mutating request in the audit trail, body redacted. The response reports what
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
      ...(entry.body !== undefined ? { body: redact(entry.body, entry.sensitiveFields) } : {}),
    });
  } catch (err) {
    services.logger.error('audit write failed', { path: fullPath(req), verb: req.method, error: (err as Error).message });
  }
}
