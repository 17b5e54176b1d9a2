import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineLog, type AppendLog, type Store } from './store/store.js';

export const AuditEntrySchema = z.object({
  id: z.string(),
  time: z.iso.datetime(),
  user: z.string(),
  verb: z.string(),
  path: z.string(),
  action: z.string().optional(),
  status: z.number().int(),
  sourceIP: z.string(),
  /** The request body with secret fields redacted. */
  body: z.unknown().optional(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/**
 * An append-only log (`<data dir>/auditlogs.log`): recording an entry costs one durable append,
 * not a rewrite of the data file. Older data files kept the trail in a collection of this name;
 * the store moves it into the log once, when it opens.
 */
export const auditLog = defineLog('auditlogs', AuditEntrySchema);

/** Keys whose values never enter the audit trail, wherever they appear in a body. */
const SECRET_KEYS = new Set(
  ['password', 'oldpassword', 'newpassword', 'sshkey', 'kubeconfig', 'token', 'config', 'secret', 'privatekey', 'apikey'].map(
    (k) => k.toLowerCase(),
  ),
);
export const REDACTED = '[redacted]';

/**
 * Returns a copy of `value` with secret fields replaced by REDACTED: keys in SECRET_KEYS (any
 * case) and the `extraKeys` a resource declares (e.g. a secret's `value`).
 */
export function redact(value: unknown, extraKeys: readonly string[] = []): unknown {
  const extra = new Set(extraKeys.map((k) => k.toLowerCase()));
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(v)) {
        const lower = key.toLowerCase();
        out[key] = SECRET_KEYS.has(lower) || extra.has(lower) ? REDACTED : walk(inner);
      }
      return out;
    }
    return v;
  };
  return walk(value);
}

/** Bounded audit trail of mutating requests and controller decisions. */
export class AuditTrail {
  readonly #entries: AppendLog<AuditEntry>;

  constructor(store: Store, maxEntries: number) {
    this.#entries = store.log(auditLog, { maxEntries });
  }

  /**
   * Records one entry and resolves once it is durable; the caller must already have redacted
   * `body`. The oldest entries beyond the bound are dropped.
   */
  async record(entry: Omit<AuditEntry, 'id' | 'time'>): Promise<void> {
    const time = new Date().toISOString();
    const id = `a-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
    await this.#entries.append({ ...entry, id, time });
  }

  /** Records a change a controller made on its own (no request behind it). */
  recordSystem(actor: string, verb: string, path: string, body?: unknown): Promise<void> {
    return this.record({ user: `zcloud:${actor}`, verb, path, status: 200, sourceIP: '', ...(body !== undefined ? { body: redact(body) } : {}) });
  }

  /** Oldest first. */
  list(): Promise<AuditEntry[]> {
    return this.#entries.list();
  }
}
