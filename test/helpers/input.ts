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

/**
 * The names of `existing` that are among `refused`: what a request answered with 4xx created
 * anyway. Chai's `not.include.members` passes as soon as one name is absent, so a test that
 * wants none of them asserts this is empty.
 */
export function createdDespiteRefusal(existing: ReadonlyArray<string | undefined>, refused: readonly string[]): string[] {
  return existing.filter((name): name is string => name !== undefined && refused.includes(name));
}
