import { z } from 'zod';
import { InputError } from '../errors.js';

/**
 * One field of a chart version's install form, as the seed's `chartVersion.config` returns it:
 * the console draws the form from these, and zcloud validates `configs` against them.
 * `jsonKey` is the dotted path of the Helm value the field sets (`persistence.size`).
 */
export const FormFieldSchema = z
  .object({
    jsonKey: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'must be a dotted path of value names'),
    label: z.string().min(1),
    type: z.enum(['string', 'int', 'bool', 'enum', 'password']),
    description: z.string().optional(),
    required: z.boolean().optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    validValues: z.array(z.string()).min(1).optional(),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
  })
  .strict()
  .refine((f) => f.type !== 'enum' || f.validValues !== undefined, { message: 'an enum field needs validValues', path: ['validValues'] });
export type FormField = z.infer<typeof FormFieldSchema>;

/** `zcloud-form.json` beside a chart version's Chart.yaml. `system` charts are installed only by zcloud itself (monitor, registry). */
export const ChartFormSchema = z
  .object({
    system: z.boolean().optional(),
    config: z.array(FormFieldSchema).refine((fields) => new Set(fields.map((f) => f.jsonKey)).size === fields.length, 'jsonKeys must be unique'),
  })
  .strict();
export type ChartForm = z.infer<typeof ChartFormSchema>;

type Scalar = string | number | boolean;

/** Checks one submitted value against its field; returns the value or a reason. */
function checkValue(field: FormField, value: unknown): { ok: Scalar } | { reason: string } {
  switch (field.type) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return { reason: 'must be an integer' };
      if (field.min !== undefined && value < field.min) return { reason: `must be at least ${field.min}` };
      if (field.max !== undefined && value > field.max) return { reason: `must be at most ${field.max}` };
      return { ok: value };
    case 'bool':
      return typeof value === 'boolean' ? { ok: value } : { reason: 'must be true or false' };
    case 'enum':
      return typeof value === 'string' && field.validValues!.includes(value) ? { ok: value } : { reason: `must be one of ${field.validValues!.join(', ')}` };
    case 'string':
    case 'password':
      return typeof value === 'string' ? { ok: value } : { reason: 'must be a string' };
  }
}

/**
 * The Helm values of `configs` (an object keyed by jsonKey) under `form`: defaults filled in,
 * dotted keys expanded into nested objects. Throws InputError naming `configs.<jsonKey>` for
 * an unknown key, a missing required value or a value of the wrong type or range.
 */
export function valuesFromConfigs(form: readonly FormField[], configs: Record<string, unknown>): Record<string, unknown> {
  const known = new Map(form.map((f) => [f.jsonKey, f]));
  for (const key of Object.keys(configs)) {
    if (!known.has(key)) throw new InputError(`is not a setting of this chart version`, `configs.${key}`);
  }
  const values: Record<string, unknown> = {};
  for (const field of form) {
    const given = configs[field.jsonKey];
    const value = given === undefined || given === null ? field.default : given;
    if (value === undefined || (field.required && value === '')) {
      if (field.required) throw new InputError('is required', `configs.${field.jsonKey}`);
      continue;
    }
    const checked = checkValue(field, value);
    if ('reason' in checked) throw new InputError(checked.reason, `configs.${field.jsonKey}`);
    setPath(values, field.jsonKey.split('.'), checked.ok);
  }
  return values;
}

function setPath(target: Record<string, unknown>, keys: string[], value: Scalar): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node = (next && typeof next === 'object' ? next : (node[key] = {})) as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}
