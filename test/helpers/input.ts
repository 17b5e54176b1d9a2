import type { z } from 'zod';
import { parseInput } from '../../api/framework/http-errors.js';
import { InputError } from '../../src/errors.js';

/**
 * What the API would answer with 422 for `body` against a resource's input schema, as
 * `<field>: <reason>`; undefined when the body is accepted. For unit tests of validation.
 */
export function rejectionOf(schema: z.ZodType, body: unknown): string | undefined {
  try {
    parseInput(schema, body);
  } catch (err) {
    if (err instanceof InputError) return err.field ? `${err.field}: ${err.message}` : err.message;
    throw err;
  }
  return undefined;
}
