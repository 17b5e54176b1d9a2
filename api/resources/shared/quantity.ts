import { z } from 'zod';
import { isQuantity, parseQuantity } from '../../../src/kube/quantity.js';

/**
 * A non-negative Kubernetes resource quantity ("500m", "2", "128Mi"). The apiserver would
 * reject the others too, but with a message naming its own field path, not the caller's.
 */
export const QuantitySchema = z
  .string()
  .refine((text) => text === text.trim() && isQuantity(text), 'must be a Kubernetes quantity such as "500m", "2" or "128Mi"')
  .refine((text) => !isQuantity(text) || parseQuantity(text) >= 0, 'must not be negative');

/**
 * A map from resource names (one of `names`) to quantities. An unknown key is reported at its
 * own path (`limits.foo: must be one of ...`) so the caller sees which key to fix.
 */
export function quantityMap<K extends string>(names: readonly K[]) {
  const allowed = new Set<string>(names);
  return z.record(z.string(), QuantitySchema).superRefine((map, ctx) => {
    for (const key of Object.keys(map)) {
      if (!allowed.has(key)) ctx.addIssue({ code: 'custom', path: [key], message: `must be one of ${names.join(', ')}` });
    }
  }) as unknown as z.ZodType<Partial<Record<K, string>>>;
}
