import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { createApp, createMetricsApp } from '../api/app.js';
import { HttpServer } from '../api/http-server.js';
import { createStreamGateway } from '../api/streaming/index.js';
import type { ApiServices } from '../api/services.js';
import { applicationController, applicationCrdController } from '../controllers/application.js';
import { blockDeviceDiscoveryController, blockDeviceScanSchedule } from '../controllers/block-device-discovery.js';
import { clusterHealthController } from '../controllers/cluster-health.js';
import { clusterStatusController } from '../controllers/cluster-status.js';
import { clusterProvisioningController } from '../controllers/cluster-provisioning.js';
import { clusterShellSweeper } from '../controllers/cluster-shell-sweeper.js';
import { configReloadController } from '../controllers/config-reload.js';
import { lvmProvisionerController } from '../controllers/lvm-provisioner.js';
import { storageClusterController } from '../controllers/storage-cluster.js';
import { userQuotaController } from '../controllers/user-quota.js';
import { builtInChartDir, ChartCatalog } from '../src/apps/chart-catalog.js';
import { Helm } from '../src/apps/helm.js';
import { AuditTrail, auditLog } from '../src/audit.js';
import { LoginThrottle, USER_FAILURES_FACTOR } from '../src/auth/login-throttle.js';
import { RevokedTokens, revokedTokensCollection } from '../src/auth/revoked-tokens.js';
import { loadSigningKey } from '../src/auth/signing-key.js';
import { TokenService } from '../src/auth/tokens.js';
import { ClusterManager, clustersCollection } from '../src/clusters/cluster-manager.js';
import { detectInCluster, inClusterKubeConfig, inClusterKubeconfigFile } from '../src/clusters/in-cluster.js';
import type { Config } from '../src/config.js';
import { Controller, type ControllerDefinition } from '../src/controller.js';
import { createLogger } from '../src/logger.js';
import { KubeHttp } from '../src/kube/kube-http.js';
import { LeaderElection } from '../src/leader-election.js';
import { KubeResourceStatus } from '../src/status/resource-status.js';
import { Manager, untilAborted, type Runnable } from '../src/manager.js';
import { ZcloudMetrics } from '../src/metrics.js';
import { userQuotasCollection } from '../src/quotas/user-quota.js';
import { UserQuotaService } from '../src/quotas/user-quota-service.js';
import { ProvisioningJournalStore, provisioningJournalCollection } from '../src/provisioning/journal-store.js';
import { adminKubeconfig } from '../src/provisioning/kubeconfig.js';
import { APISERVER_PORT } from '../src/provisioning/node-plan.js';
import { ClusterPkiStore, clusterPkiCollection } from '../src/provisioning/pki-store.js';
import { ProvisioningMaintenance } from '../src/provisioning/maintenance.js';
import { ProvisioningLog } from '../src/provisioning/provisioning-log.js';
import { openStore } from '../src/store/open-store.js';
import type { StoreDef } from '../src/store/store.js';
import { clusterShellLeaseMs } from '../src/streaming/cluster-shell.js';
import { UserService, usersCollection } from '../src/users.js';

/** Every collection and log zcloud stores; all are validated when the store opens. */
export const collections: readonly StoreDef[] = [
  usersCollection,
  revokedTokensCollection,
  auditLog,
  clustersCollection,
  userQuotasCollection,
  clusterPkiCollection,
  provisioningJournalCollection,
];

export interface RunningZcloud {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  services: ApiServices;
  /** The port of /metrics when ZCLOUD_METRICS_PORT is set. */
  metricsPort?: number;
  /** Resolves when zcloud has stopped; rejects if a part of it failed (and stopped the rest). */
  done: Promise<void>;
  /** Stops serving, drains the controllers, stops the caches, then closes the store (releasing its lock). */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Log destination; default stdout. */
  logStream?: Writable;
}

/**
 * Composition root: opens the store, builds the services and hands every long-running part to
 * the Manager, which starts them in phase order (store, caches, controllers, server) and stops
 * them in reverse. A new controller is one file in controllers/ and one `controller(...)` line.
 */
export async function startZcloud(config: Config, options: StartOptions = {}): Promise<RunningZcloud> {
  const logger = createLogger({ level: config.logLevel, stream: options.logStream });
  const opened = await openStore(config, collections, logger);
  const { store } = opened;
  const manager = new Manager({ logger });
  // One registry per instance: tests run several zclouds in one process.
  const metrics = new ZcloudMetrics();
  manager.add('store', { name: 'store', start: async (signal) => (await untilAborted(signal), await store.close()) });
  let started = false;
  try {
    const tokens = new TokenService(loadSigningKey(config.dataDir, opened.jwtSecret ?? config.jwtSecret));
    const throttle = new LoginThrottle({
      maxFailuresPerAddress: config.loginMaxFailures,
      maxFailuresPerUser: config.loginMaxFailures * USER_FAILURES_FACTOR,
      windowMs: config.loginFailureWindowMs,
    });
    const users = new UserService(store, tokens, new RevokedTokens(store), throttle);
    await users.ensureAdmin();
    const audit = new AuditTrail(store, config.auditMaxEntries);
    const pki = new ClusterPkiStore(store, store.secrets);
    const journal = new ProvisioningJournalStore(store);
    // Kept in the data dir too: why a create failed is still readable after a restart.
    const provisioningLog = new ProvisioningLog(undefined, path.join(config.dataDir, 'provisioning-logs'));
    const inCluster = config.homeCluster === 'auto' ? detectInCluster(process.env, config.serviceAccountDir) : undefined;
    if (inCluster) logger.info('running in a cluster', { server: inCluster.server, namespace: inCluster.namespace, registeredAs: config.homeClusterName });
    const clusters = new ClusterManager({
      store,
      ...(inCluster ? { homeCluster: { name: config.homeClusterName, kubeConfig: inClusterKubeConfig(inCluster), kubeconfigFile: inClusterKubeconfigFile(inCluster) } } : {}),
      users,
      logger,
      minWatchTimeoutSeconds: Math.max(1, Math.round(config.watchTimeoutMs / 1000)),
      provisionedKubeconfig: async (name, spec) => {
        const credentials = await pki.get(name);
        if (!credentials) throw new Error(`cluster ${name} runs but has no PKI record`);
        // zcloud reaches the apiserver of the first controlplane host from outside it.
        const first = spec.nodes.find((n) => n.roles.includes('controlplane'))!;
        return adminKubeconfig(name, `https://${first.address}:${APISERVER_PORT}`, credentials);
      },
      restartProvisioning: async (name) => void (await journal.newGeneration(name)),
      sealSpec: (name, spec, previous) => pki.sealRegistryPasswords(name, spec, previous),
    });
    manager.add('caches', clusters);
    metrics.observeInformers(() => clusters.informerSamples());
    metrics.observeClusters(() => clusters.clusterSamples());

    // With a store several replicas share, only the Lease holder writes to clusters and runs jobs;
    // every replica probes health (each serves reads from its own caches) and installs CRDs (idempotent).
    const leading: Runnable[] = [];
    const controller = (definition: ControllerDefinition, runsOn: 'leader' | 'every-replica' = 'leader'): Controller => {
      const running = new Controller({ ...definition, logger, clusters, metrics, store });
      if (runsOn === 'leader') leading.push(running);
      else manager.add('controllers', running);
      return running;
    };
    controller(clusterHealthController({ clusters, logger, intervalMs: config.healthIntervalMs, metrics }), 'every-replica');
    controller(configReloadController({ clusters, logger }));
    controller(clusterShellSweeper({ clusters, logger, leaseMs: clusterShellLeaseMs(config.shellIdleLimitMs) }));
    // What kubectl users see: status on the store's own objects, or (file store) on mirrors in the home cluster.
    const mirrorHttp = !opened.kubernetes && inCluster ? new KubeHttp(inClusterKubeConfig(inCluster)) : undefined;
    if (mirrorHttp) manager.add('caches', { name: 'status-mirror-connection', start: async (signal) => (await untilAborted(signal), mirrorHttp.close()) });
    const statusTarget = opened.kubernetes ? { ...opened.kubernetes, mode: 'store' as const } : mirrorHttp ? { http: mirrorHttp, namespace: inCluster?.namespace ?? 'zcloud', mode: 'mirror' as const } : undefined;
    const status = statusTarget ? new KubeResourceStatus({ ...statusTarget, logger }) : undefined;
    if (status) controller(clusterStatusController({ clusters, status, resyncMs: config.healthIntervalMs }));
    const quotaController = controller(userQuotaController({ store, clusters, users, audit, logger, ...(status ? { status } : {}) }));
    const provisioning = controller(clusterProvisioningController({ clusters, journal, pki, log: provisioningLog, logger, parallelRuns: config.provisioningParallelRuns, metrics }));
    clusters.onProvisioningRequested((name) => provisioning.enqueue(name));
    const catalog = new ChartCatalog({ builtInDir: builtInChartDir(), userDir: config.chartDir, logger });
    const helm = new Helm({ cacheDir: config.helmCacheDir, timeoutMs: config.helmTimeoutMs });
    controller(applicationCrdController({ clusters }), 'every-replica');
    controller(applicationController({ clusters, catalog, helm, audit, logger }));
    const discovery = controller(blockDeviceDiscoveryController({ clusters, journal, logger }));
    leading.push(blockDeviceScanSchedule(config.blockDeviceScanSchedule, clusters, (name) => discovery.enqueue(name), logger));
    controller(storageClusterController({ clusters, journal, logger, refreshMs: config.storageRefreshMs }));
    controller(lvmProvisionerController({ clusters, journal, logger }));
    leading.push(
      new ProvisioningMaintenance({
        etcdSnapshotSchedule: config.etcdSnapshotSchedule,
        etcdSnapshotRetention: config.etcdSnapshotRetention,
        certCheckSchedule: config.certCheckSchedule,
        runningClusters: () => clusters.list().flatMap((runtime) => (runtime.record.source.kind === 'ssh' ? [{ name: runtime.name, spec: runtime.record.source.spec }] : [])),
        journal,
        pki,
        log: provisioningLog,
        logger,
        // An Updating run with the spec unchanged rewrites the hosts' files and recreates what reads them.
        requestRerun: (name) =>
          void clusters.refreshProvisioned(name).catch((err: unknown) => logger.error('certificate renewal run not started', { cluster: name, error: (err as Error).message })),
      }),
    );

    if (opened.kubernetes) {
      const { http, namespace } = opened.kubernetes;
      manager.add('controllers', new LeaderElection({ http, namespace, lease: 'zcloud-leader', identity: `${os.hostname()}-${process.pid}`, leading, logger }));
    } else {
      for (const runnable of leading) manager.add('controllers', runnable);
    }

    const quotas = new UserQuotaService(store, clusters, users, (id) => quotaController.enqueue(id));
    const services: ApiServices = { config, logger, users, audit, clusters, quotas, catalog, provisioningLog };
    const metricsServer = config.metricsPort !== undefined ? new HttpServer(createMetricsApp(metrics, services), config.metricsPort, config.listenHost, 'metrics-http') : undefined;
    const app = createApp({ services, isReady: () => manager.ready, metrics, metricsOnOwnPort: metricsServer !== undefined });
    const streams = createStreamGateway({ services, metrics, provisioningLog });
    const server = new HttpServer(app, config.port, config.listenHost, 'http', streams);
    manager.add('server', streams);
    manager.add('server', server);
    if (metricsServer) manager.add('server', metricsServer);
    manager.start();
    started = true;
    const port = (await server.listening).port;
    const metricsPort = metricsServer ? (await metricsServer.listening).port : undefined;
    const host = config.listenHost === '0.0.0.0' || config.listenHost === '::' ? '127.0.0.1' : config.listenHost;
    logger.info('zcloud listening', { port, dataDir: config.dataDir, clusters: clusters.list().length });
    const done = manager.done();
    // Observed here so a failure never goes unhandled; callers awaiting `done` still see it.
    done.catch(() => undefined);
    return { url: `http://${host}:${port}`, port, metricsPort, services, done, close: () => manager.stop() };
  } catch (err) {
    await manager.stop();
    // The store runnable only closes what a started manager opened.
    if (!started) await store.close();
    throw err;
  }
}
