import type { Config } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { migrateStore, type MigrationReport } from '../src/store/migrate.js';
import { openStore } from '../src/store/open-store.js';
import { collections } from './zcloud.js';

type StoreKind = Config['store'];

/** Parses `--from file --to kubernetes`; ConfigError naming the flag otherwise. */
export function parseMigrateArgs(args: readonly string[]): { from: StoreKind; to: StoreKind } {
  const value = (flag: string): StoreKind => {
    const index = args.indexOf(flag);
    const given = index >= 0 ? args[index + 1] : undefined;
    if (given !== 'file' && given !== 'kubernetes') throw new ConfigError(flag, `must be file or kubernetes (usage: zcloud migrate --from file --to kubernetes)`);
    return given;
  };
  const from = value('--from');
  const to = value('--to');
  if (from === to) throw new ConfigError('--to', 'must differ from --from');
  return { from, to };
}

/**
 * `zcloud migrate --from file --to kubernetes` (or back): copies every record with the
 * configuration zcloud itself would use for each store. Run it while zcloud is stopped: the
 * data dir's lock refuses it otherwise.
 */
export async function runMigration(config: Config, args: readonly string[]): Promise<MigrationReport> {
  const { from, to } = parseMigrateArgs(args);
  const logger = createLogger({ level: config.logLevel });
  const source = await openStore({ ...config, store: from }, collections, logger);
  try {
    const target = await openStore({ ...config, store: to }, collections, logger);
    try {
      return await migrateStore(source.store, target.store, collections, config.auditMaxEntries);
    } finally {
      await target.store.close();
    }
  } finally {
    await source.store.close();
  }
}
