import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { createApp } from '../api/app.js';
import type { ApiServices } from '../api/services.js';
import { AuditTrail, auditCollection } from './audit.js';
import { loadSigningKey } from './auth/signing-key.js';
import { TokenService } from './auth/tokens.js';
import type { Config } from './config.js';
import { createLogger } from './logger.js';
import { openLowdbStore } from './store/lowdb-store.js';
import type { CollectionDef } from './store/store.js';
import { UserService, usersCollection } from './users.js';

/** Every collection zcloud stores; all are validated when the store opens. */
const collections: readonly CollectionDef[] = [usersCollection, auditCollection];

export interface RunningZcloud {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  services: ApiServices;
  /** Stops serving, then closes the store (releasing its lock). */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Log destination; default stdout. */
  logStream?: Writable;
}

/** Composition root: opens the store, builds the services and serves the API. */
export async function startZcloud(config: Config, options: StartOptions = {}): Promise<RunningZcloud> {
  const logger = createLogger({ level: config.logLevel, stream: options.logStream });
  const store = await openLowdbStore({ dataDir: config.dataDir, collections });
  let server: Server | undefined;
  try {
    const tokens = new TokenService(loadSigningKey(config.dataDir, config.jwtSecret));
    const users = new UserService(store, tokens);
    await users.ensureAdmin();
    const services: ApiServices = { config, logger, users, audit: new AuditTrail(store, config.auditMaxEntries) };
    const app = createApp({ services, isReady: () => true });
    server = app.listen(config.port, config.listenHost);
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const host = config.listenHost === '0.0.0.0' || config.listenHost === '::' ? '127.0.0.1' : config.listenHost;
    logger.info('zcloud listening', { port, dataDir: config.dataDir });
    const running = server;
    return {
      url: `http://${host}:${port}`,
      port,
      services,
      close: async () => {
        running.closeAllConnections();
        await new Promise<void>((resolve, reject) => running.close((err) => (err ? reject(err) : resolve())));
        await store.close();
      },
    };
  } catch (err) {
    server?.close();
    await store.close();
    throw err;
  }
}
