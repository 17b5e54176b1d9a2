import type { Store, StoreDef } from './store.js';

/** Records (or entries) copied per collection or log. */
export type MigrationReport = Record<string, number>;

/**
 * Copies every record of every collection in `defs` from `from` to `to` (create or replace by
 * id), and every log entry `to` does not hold yet (by id, oldest first). Idempotent: a second
 * run after an interrupted one finishes the copy. `logEntries` bounds the logs read and written.
 */
export async function migrateStore(from: Store, to: Store, defs: readonly StoreDef[], logEntries: number): Promise<MigrationReport> {
  const report: MigrationReport = {};
  for (const def of defs) {
    if (def.kind === 'collection') {
      const target = to.collection(def);
      const entries = await from.collection(def).entries();
      for (const [id, record] of entries) await target.put(id, record);
      report[def.name] = entries.length;
    } else {
      const target = to.log(def, { maxEntries: logEntries });
      const present = new Set((await target.list()).map((entry) => entry.id));
      const missing = (await from.log(def, { maxEntries: logEntries }).list()).filter((entry) => !present.has(entry.id));
      for (const entry of missing) await target.append(entry);
      report[def.name] = missing.length;
    }
  }
  return report;
}
