import { loadConfig } from '../src/config.js';
import { ConfigError, DataDirInUseError, StoreCorruptError } from '../src/errors.js';
import { runMigration } from './migrate.js';
import { startZcloud } from './zcloud.js';

/** Process entry: one clear line and exit 1 for bad config or an unusable data file. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (process.argv[2] === 'migrate') {
    const report = await runMigration(config, process.argv.slice(3));
    process.stdout.write(`${JSON.stringify({ message: 'migrated', copied: report })}\n`);
    return;
  }
  const zcloud = await startZcloud(config);
  const stop = (signal: string): void => {
    zcloud.services.logger.info('stopping', { signal });
    zcloud.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`zcloud: error while stopping: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  // A part that fails stops the rest (the manager); the process then exits non-zero.
  await zcloud.done.catch((err: unknown) => {
    process.stderr.write(`zcloud: stopped after a failure: ${(err as Error).message}\n`);
    process.exit(1);
  });
}

main().catch((err: unknown) => {
  const known = err instanceof ConfigError || err instanceof StoreCorruptError || err instanceof DataDirInUseError;
  process.stderr.write(`zcloud: ${known ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
