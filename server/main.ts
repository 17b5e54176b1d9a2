import { loadConfig } from '../src/config.js';
import { ConfigError, StoreCorruptError } from '../src/errors.js';
import { startZcloud } from './zcloud.js';

/** Process entry: one clear line and exit 1 for bad config or an unusable data file. */
async function main(): Promise<void> {
  const config = loadConfig();
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
}

main().catch((err: unknown) => {
  const known = err instanceof ConfigError || err instanceof StoreCorruptError;
  process.stderr.write(`zcloud: ${known ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
