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
