import { once, setMaxListeners } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { createApp } from '../api/app.js';
import type { ApiServices } from '../api/services.js';
import { ClusterHealthReconciler } from '../controllers/cluster-health.js';
import { ConfigReloadReconciler, watchConfigSources } from '../controllers/config-reload.js';
import { UserQuotaReconciler } from '../controllers/user-quota.js';
import { AuditTrail, auditCollection } from '../src/audit.js';
import { loadSigningKey } from '../src/auth/signing-key.js';
import { TokenService } from '../src/auth/tokens.js';
import { ClusterManager, clustersCollection } from '../src/clusters/cluster-manager.js';
import type { Config } from '../src/config.js';
import { Controller } from '../src/controller.js';
import { createLogger } from '../src/logger.js';
import { QUOTA_LABEL, userQuotasCollection } from '../src/quotas/user-quota.js';
import { UserQuotaService } from '../src/quotas/user-quota-service.js';
import { openLowdbStore } from '../src/store/lowdb-store.js';
import type { CollectionDef } from '../src/store/store.js';
import { UserService, usersCollection } from '../src/users.js';

/** Every collection zcloud stores; all are validated when the store opens. */
const collections: readonly CollectionDef[] = [usersCollection, auditCollection, clustersCollection, userQuotasCollection];

export interface RunningZcloud {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  services: ApiServices;
  /** Stops serving and every controller and cache, then closes the store (releasing its lock). */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Log destination; default stdout. */
  logStream?: Writable;
}

/**
 * Composition root: opens the store, builds the services, attaches the registered clusters
 * (without waiting for them), starts the controllers and serves the API. Every long-running
 * task is owned here and awaited by `close`.
 */
export async function startZcloud(config: Config, options: StartOptions = {}): Promise<RunningZcloud> {
  const logger = createLogger({ level: config.logLevel, stream: options.logStream });
  const store = await openLowdbStore({ dataDir: config.dataDir, collections });
  const stopping = new AbortController();
  setMaxListeners(0, stopping.signal);
  const tasks: Promise<void>[] = [];
  let server: Server | undefined;
  let clusters: ClusterManager | undefined;
  const shutdown = async (): Promise<void> => {
    stopping.abort();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    }
    await clusters?.stop();
    await Promise.all(tasks);
    await store.close();
  };
  try {
    const tokens = new TokenService(loadSigningKey(config.dataDir, config.jwtSecret));
    const users = new UserService(store, tokens);
    await users.ensureAdmin();
    clusters = new ClusterManager({ store, users, logger, minWatchTimeoutSeconds: Math.max(1, Math.round(config.watchTimeoutMs / 1000)) });

    const health = new Controller({
      name: 'cluster-health',
      reconciler: new ClusterHealthReconciler({ clusters, logger, intervalMs: config.healthIntervalMs }),
      logger,
      workers: 2,
    });
    clusters.on((event, name) => event === 'attached' && health.enqueue(name));
    tasks.push(health.run(stopping.signal));
    const configReload = new Controller({ name: 'config-reload', reconciler: new ConfigReloadReconciler({ clusters, logger }), logger, workers: 2 });
    watchConfigSources(clusters, configReload);
    tasks.push(configReload.run(stopping.signal));
    await clusters.start();

    const audit = new AuditTrail(store, config.auditMaxEntries);
    const quotaController = new Controller({
      name: 'userquota',
      reconciler: new UserQuotaReconciler({ store, clusters, users, audit, logger }),
      logger,
    });
    const quotas = new UserQuotaService(store, clusters, users, (id) => quotaController.enqueue(id));
    // Drift in a cluster (someone edits or deletes what zcloud manages) triggers a reconcile.
    for (const kind of ['resourcequotas', 'namespaces'] as const) {
      clusters.onObjectEvent(kind, (_cluster, event) => {
        const id = event.object.metadata.labels?.[QUOTA_LABEL];
        if (id) quotaController.enqueue(id);
      });
    }
    // Level-based start: every request is looked at once, so work cut short by a restart resumes.
    for (const record of await quotas.list()) quotaController.enqueue(record.id);
    tasks.push(quotaController.run(stopping.signal));
    const services: ApiServices = { config, logger, users, audit, clusters, quotas };
    const app = createApp({ services, isReady: () => !stopping.signal.aborted });
    server = app.listen(config.port, config.listenHost);
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const host = config.listenHost === '0.0.0.0' || config.listenHost === '::' ? '127.0.0.1' : config.listenHost;
    logger.info('zcloud listening', { port, dataDir: config.dataDir, clusters: clusters.list().length });
    return { url: `http://${host}:${port}`, port, services, close: shutdown };
  } catch (err) {
    await shutdown();
    throw err;
  }
}
