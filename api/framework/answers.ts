import type { Writable } from 'node:stream';
import { constants as zlibConstants, createBrotliCompress, createGzip } from 'node:zlib';
import type { Response } from 'express';
import { MethodNotAllowedError, TooManyRequestsError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { CollectionJson } from './collection-json.js';
import { toHttpError } from './http-errors.js';

/**
 * How answers are written, and the one place an error becomes one, for both APIs and the
 * app's fallback handlers. zcloud.cn answers `{type: "error", status, code, message}`; OSP answers
 * `{code, msg}` with its own names for some codes. The status is the same in both.
 */
export type ErrorEnvelope = 'zcloud' | 'osp';

export interface ZcloudErrorBody {
  type: 'error';
  status: number;
  code: string;
  message: string;
}

export interface OspBody {
  code: string;
  msg: string;
  data?: unknown;
}

/** What a request is answered: status, extra headers, and a JSON body or plain text (neither: an empty answer, as 204). */
export interface Answer {
  status: number;
  headers?: Readonly<Record<string, string>>;
  body?: unknown;
  /** Sent as `text/plain; charset=utf-8` instead of a JSON body. */
  text?: string;
  /** A list, already serialised item by item (written streamed when large). */
  collection?: CollectionJson;
}

export interface ErrorResponse extends Answer {
  headers: Readonly<Record<string, string>>;
  body: ZcloudErrorBody | OspBody;
}

/** OSP names for zcloud's error codes; the HTTP status stays the same. */
const OSP_CODES: Readonly<Record<string, string>> = {
  InvalidInput: 'InvalidParameter',
  InvalidFormat: 'InvalidParameter',
  PermissionDenied: 'Forbidden',
  ServerError: 'InternalError',
};

/** Status, headers (Allow on a 405, Retry-After on a 429) and body of the answer to `err`, in `envelope`. */
export function errorResponse(err: unknown, envelope: ErrorEnvelope): ErrorResponse {
  const { status, code, message } = toHttpError(err);
  const headers: Record<string, string> = {};
  if (err instanceof MethodNotAllowedError) headers.Allow = err.allowed.join(', ');
  if (err instanceof TooManyRequestsError) headers['Retry-After'] = String(err.retryAfterSeconds);
  const body: ZcloudErrorBody | OspBody =
    envelope === 'osp' ? { code: OSP_CODES[code] ?? code, msg: message } : { type: 'error', status, code, message };
  return { status, headers, body };
}

/** An OSP success: `{code: "Success", msg: "Success", data}`. */
export function ospSuccess(data: unknown): OspBody {
  return { code: 'Success', msg: 'Success', data };
}

/**
 * Logs what a 500 hides: the client sees only "internal server error", so the stack must go
 * to the log, once, with the path it happened on.
 */
export function logServerError(logger: Logger, what: string, path: string, err: unknown, response: Answer): void {
  if (response.status === 500) logger.error(what, { path, error: String((err as Error)?.stack ?? err) });
}

/** Writes `answer`: its headers, its status, and its body as JSON, its text, or nothing. */
export function writeAnswer(res: Response, answer: Answer): void {
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  if (answer.collection) writeCollection(res, answer.status, answer.collection);
  else if (answer.text !== undefined) res.status(answer.status).type('text/plain; charset=utf-8').send(answer.text);
  else if (answer.body === undefined) res.status(answer.status).end();
  else res.status(answer.status).json(answer.body);
}

/** errorResponse, logServerError and writeAnswer in one, for answers that need no audit first. */
export function writeError(res: Response, err: unknown, envelope: ErrorEnvelope, log: { logger: Logger; what: string; path: string }): void {
  const response = errorResponse(err, envelope);
  logServerError(log.logger, log.what, log.path, err, response);
  writeAnswer(res, response);
}

/**
 * Lists at least this long (in characters, about bytes) are streamed, and compressed when the
 * client accepts gzip or br; shorter ones go as one body, with Express's ETag unless the
 * answer set its own.
 */
export const STREAM_MIN_CHARS = 16 * 1024;
/** Characters per socket write when streaming. */
const BATCH_CHARS = 64 * 1024;

function writeCollection(res: Response, status: number, collection: CollectionJson): void {
  const { head, items, tail } = collection;
  let length = head.length + tail.length + items.length;
  for (const item of items) length += item.length;
  res.status(status).type('application/json; charset=utf-8');
  if (length < STREAM_MIN_CHARS) {
    res.send(`${head}${items.join(',')}${tail}`);
    return;
  }
  const encoding = res.req.acceptsEncodings('br', 'gzip', 'identity');
  res.vary('Accept-Encoding');
  let sink: Writable = res;
  if (encoding === 'br' || encoding === 'gzip') {
    res.setHeader('Content-Encoding', encoding);
    // Fast settings: on loopback or a LAN the CPU, not the bytes, is what a list costs.
    const compressor =
      encoding === 'br'
        ? createBrotliCompress({ params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: length } })
        : createGzip({ level: 4 });
    compressor.pipe(res);
    sink = compressor;
  }
  void streamParts(sink, head, items, tail).catch(() => res.destroy());
}

/** Writes head, the items comma-separated and tail in batches, waiting for drain as the socket asks. */
async function streamParts(sink: Writable, head: string, items: readonly string[], tail: string): Promise<void> {
  let batch = head;
  for (let i = 0; i < items.length; i++) {
    batch += i === 0 ? items[i] : `,${items[i]}`;
    if (batch.length >= BATCH_CHARS) {
      if (!sink.write(batch)) await drainedOrClosed(sink);
      if (sink.destroyed) return;
      batch = '';
    }
  }
  sink.end(batch + tail);
}

function drainedOrClosed(sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}
