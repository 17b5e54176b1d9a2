import { z } from 'zod';
import {
  BadRequestError,
  ClusterRefusedError,
  ClusterUnavailableError,
  ConflictError,
  ExpiredError,
  ForbiddenError,
  InputError,
  MalformedError,
  MethodNotAllowedError,
  NotFoundError,
  TooManyRequestsError,
  UnauthorizedError,
} from '../../src/errors.js';

export interface HttpError {
  status: number;
  /** Stable machine name of the failure. */
  code: string;
  message: string;
}

/** Maps any thrown value to status, code and a message safe to show (never a stack). */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof InputError) {
    return { status: 422, code: 'InvalidInput', message: err.field ? `${err.field}: ${err.message}` : err.message };
  }
  if (err instanceof z.ZodError) return { status: 422, code: 'InvalidInput', message: describeZodError(err) };
  if (err instanceof MalformedError) return { status: 422, code: 'InvalidFormat', message: err.message };
  if (err instanceof BadRequestError) return { status: 400, code: 'InvalidFormat', message: err.message };
  const client = clientErrorOfMiddleware(err);
  if (client) return client;
  if (err instanceof UnauthorizedError) return { status: 401, code: 'Unauthorized', message: err.message };
  if (err instanceof ForbiddenError) return { status: 403, code: 'PermissionDenied', message: err.message };
  if (err instanceof NotFoundError) return { status: 404, code: 'NotFound', message: err.message };
  if (err instanceof MethodNotAllowedError) return { status: 405, code: 'MethodNotAllowed', message: err.message };
  if (err instanceof ConflictError) return { status: 409, code: 'Conflict', message: err.message };
  if (err instanceof ExpiredError) return { status: 410, code: 'Expired', message: err.message };
  if (err instanceof TooManyRequestsError) return { status: 429, code: 'TooManyRequests', message: err.message };
  if (err instanceof ClusterUnavailableError) return { status: 503, code: 'ClusterUnavailable', message: err.message };
  if (err instanceof ClusterRefusedError) return { status: 502, code: 'ClusterRefused', message: err.message };
  return { status: 500, code: 'ServerError', message: 'internal server error' };
}

/**
 * Errors Express and its body parsers raise for what the client sent (a body over the limit, a
 * parameter with broken percent-encoding): they carry a 4xx `status` and `expose`. They are the
 * client's fault, so a 4xx naming the cause, never a 500 with a stack in the log.
 */
function clientErrorOfMiddleware(err: unknown): HttpError | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const { status, expose, message } = err as { status?: unknown; expose?: unknown; message?: unknown };
  // The router's parameter decoding throws a URIError with a 400 status but no `expose`.
  if (typeof status !== 'number' || status < 400 || status > 499 || (expose !== true && !(err instanceof URIError))) return undefined;
  const code = status === 413 ? 'RequestTooLarge' : 'InvalidFormat';
  return { status, code, message: typeof message === 'string' ? message.slice(0, 200) : 'bad request' };
}

/**
 * The first issue (the one a client fixes first) as a field path and a reason. With `input`, an
 * absent field is "is required" whatever its schema (an enum says "Invalid option" otherwise).
 */
function firstIssue(err: z.ZodError, input?: unknown): { field?: string; reason: string } {
  const issue = err.issues[0];
  if (!issue) return { reason: 'invalid input' };
  const field = issue.path.map(String).join('.') || undefined;
  const absent = input !== undefined && issue.code === 'invalid_value' && issue.path.length > 0 && valueAt(input, issue.path) === undefined;
  const missing = absent || (issue.code === 'invalid_type' && issue.message.endsWith('received undefined'));
  return { field, reason: missing ? 'is required' : issue.message };
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

export function describeZodError(err: z.ZodError): string {
  const { field, reason } = firstIssue(err);
  return field ? `${field}: ${reason}` : reason;
}

/** Parses `input` with `schema`; a failure becomes an InputError naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const { field, reason } = firstIssue(result.error, input);
  throw new InputError(reason, field);
}
