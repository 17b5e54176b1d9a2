import express, { type RequestHandler } from 'express';

/** Methods whose requests carry a body zcloud reads. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The request body as text (req.body), read only for methods that carry one: a GET or HEAD
 * never pays for the parser (Node discards whatever body such a request sent).
 */
export function bodyText(limit: string): RequestHandler {
  const parse = express.text({ type: () => true, limit });
  return (req, res, next) => (BODY_METHODS.has(req.method) ? parse(req, res, next) : next());
}
