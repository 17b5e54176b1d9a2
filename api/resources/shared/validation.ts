import { z } from 'zod';

/** A Kubernetes object name (DNS-1123 subdomain): what most namespaced kinds accept. */
export const ObjectNameSchema = z
  .string()
  .min(1, 'is required')
  .max(253, 'must be at most 253 characters')
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be lower-case letters, digits, "-" or ".", starting and ending with a letter or digit');

/** A DNS-1123 label: names that end up in DNS or labels (namespaces, services, workloads). */
export const LabelNameSchema = z
  .string()
  .min(1, 'is required')
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label: lower-case letters, digits and "-"');

/** A key of a ConfigMap's or Secret's data (what Kubernetes accepts as a file name in a volume). */
export const DataKeySchema = z
  .string()
  .min(1, 'is required')
  .max(253, 'must be at most 253 characters')
  .regex(/^[-._a-zA-Z0-9]+$/, 'must be letters, digits, "-", "_" or "."');

/**
 * An array whose elements' `key` values are unique; the issue names the duplicate and where it is.
 * Use for data keys, container names, ports...
 */
export function uniqueBy<T extends z.ZodType>(element: T, key: (item: z.output<T>) => string, what: string) {
  return z.array(element).superRefine((items, ctx) => {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const value = key(item);
      const first = seen.get(value);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [index], message: `duplicate ${what} "${value}" (also at index ${first})` });
      else seen.set(value, index);
    });
  });
}

/**
 * A port protocol in whichever case a client sends it (`tcp`, `TCP`, `Udp`...), answered in
 * `spelling`, the seed's spelling for that resource: the console and scripts of 2019 send
 * both cases (issue 15). Anything else is refused naming the accepted values.
 */
export function protocolSchema<P extends readonly ['TCP', 'UDP'] | readonly ['tcp', 'udp']>(spelling: P) {
  const upper = spelling[0] === 'TCP';
  return z.preprocess((value) => (typeof value === 'string' ? (upper ? value.toUpperCase() : value.toLowerCase()) : value), z.enum(spelling));
}

/**
 * `schema` taking other spellings of some fields: `aliases` maps each other spelling to the
 * seed's (`{ storageType: 'storagetype' }`). An alias is used only when the seed's spelling is
 * absent; errors name the seed's spelling. For the fields clients of 2019 misspell (issue 15).
 */
export function withAliases<T extends z.ZodType>(aliases: Readonly<Record<string, string>>, schema: T) {
  return z.preprocess((value) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const [alias, canonical] of Object.entries(aliases)) {
      if (!(alias in out)) continue;
      if (out[canonical] === undefined) out[canonical] = out[alias];
      delete out[alias];
    }
    return out;
  }, schema);
}
