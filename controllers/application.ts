import { APPLICATION_FINALIZER, ensureApplicationCache, type ApplicationObject, type AppResource } from '../src/apps/application-crd.js';
import type { ChartCatalog } from '../src/apps/chart-catalog.js';
import { valuesFromConfigs } from '../src/apps/chart-form.js';
import { readSecretConfigs, SecretConfigsMissing } from '../src/apps/secret-configs.js';
import { HelmError, type Helm, type HelmCall } from '../src/apps/helm.js';
import {
  CACHE_OF_TYPE,
  RELEASE_NAME_ANNOTATION,
  RELEASE_NAMESPACE_ANNOTATION,
  appResourcesOf,
  missingResources,
  readyCounts,
  type CacheLookup,
} from '../src/apps/release-resources.js';
import type { AuditTrail } from '../src/audit.js';
import type { ClusterManager, ClusterRuntime } from '../src/clusters/cluster-manager.js';
import type { ControllerDefinition, Reconciler, Result } from '../src/controller.js';
import { ignoreNotFound, InputError } from '../src/errors.js';
import type { CachedKindName } from '../src/kube/resource-kind.js';
import type { Logger } from '../src/logger.js';

export interface ApplicationReconcilerOptions {
  clusters: ClusterManager;
  catalog: ChartCatalog;
  helm: Helm;
  audit: AuditTrail;
  logger: Logger;
  /** Retry of a failed install or uninstall (helm's errors are often the apiserver's, and pass). */
  retryMs?: number;
  /** Re-check of a succeeded application, a safety net beside the informer triggers. */
  resyncMs?: number;
  /** Poll while the cluster or its application cache is not ready. */
  waitPollMs?: number;
}

const ACTOR = 'application-controller';
/** How long after an install the caches get to show the release's objects before drift is judged. */
const CACHE_CATCH_UP_MS = 10_000;

/** `cluster/namespace/name` of an application. */
export function applicationKey(cluster: string, namespace: string, name: string): string {
  return `${cluster}/${namespace}/${name}`;
}

/**
 * Drives each Application to its spec with the real helm: `helm upgrade --install` of its chart
 * version and values, then status from the caches (appResources, ready counts); a listed object
 * deleted outside zcloud is put back by installing again; a deleted Application is uninstalled
 * before its finalizer goes. Key: `cluster/namespace/name` (the release is named and namespaced
 * like the Application). Level-based: each reconcile reads the Application and the release's
 * objects from the caches and takes the one step they call for; status is written only when it
 * changes. Every change zcloud makes is audited as zcloud:application-controller (chart and
 * version only: values may hold passwords).
 */
export class ApplicationReconciler implements Reconciler {
  constructor(private readonly options: ApplicationReconcilerOptions) {}

  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const [cluster = '', namespace = '', name = ''] = key.split('/');
    const runtime = this.options.clusters.get(cluster);
    if (!runtime) return {};
    // No Application informer yet: its first LIST will enqueue every Application of the cluster.
    const informer = runtime.cache.informer<ApplicationObject>('applications');
    if (!informer) return {};
    if (!runtime.available || !informer.hasSynced) return { requeueAfterMs: this.options.waitPollMs ?? 2000 };
    const app = informer.store.get(namespace, name);
    if (!app) return {};
    if (app.metadata.deletionTimestamp) return this.uninstall(runtime, app, signal);
    if (!app.metadata.finalizers?.includes(APPLICATION_FINALIZER)) {
      await runtime.client.mergePatch('applications', namespace, name, {
        metadata: { resourceVersion: app.metadata.resourceVersion, finalizers: [...(app.metadata.finalizers ?? []), APPLICATION_FINALIZER] },
      });
      return this.reconcile(key, signal);
    }
    return this.install(runtime, app, signal);
  }

  private lookup(runtime: ClusterRuntime): CacheLookup {
    return (kind: CachedKindName) => runtime.cache.informer(kind)?.store;
  }

  private async install(runtime: ClusterRuntime, app: ApplicationObject, signal: AbortSignal): Promise<Result> {
    const { namespace = '', name, generation } = app.metadata;
    const status = app.status ?? {};
    const lookup = this.lookup(runtime);
    const current = status.observedGeneration === generation && status.phase === 'succeed';
    const missing = current ? missingResources(status.appResources ?? [], namespace, lookup) : [];
    if (current && missing.length === 0) {
      await this.writeStatus(runtime, app, { ...readyCounts(status.appResources ?? [], namespace, lookup) });
      return { requeueAfterMs: this.options.resyncMs ?? 300_000 };
    }
    const chart = this.options.catalog.version(app.spec.chartName, app.spec.chartVersion);
    let values: Record<string, unknown>;
    try {
      if (!chart) throw new InputError(`chart ${app.spec.chartName} version ${app.spec.chartVersion} is not in zcloud's catalogue`);
      values = valuesFromConfigs(chart.config, { ...(app.spec.configs ?? {}), ...(await readSecretConfigs(runtime, app)) });
    } catch (err) {
      if (err instanceof SecretConfigsMissing) {
        await this.writeStatus(runtime, app, { phase: 'create', message: err.message, observedGeneration: generation });
        return { requeueAfterMs: this.options.waitPollMs ?? 2000 };
      }
      if (!(err instanceof InputError)) throw err;
      // A spec zcloud's API would have refused (written some other way): wait for a new spec.
      await this.writeStatus(runtime, app, { phase: 'failed', message: err.field ? `${err.field}: ${err.message}` : err.message, observedGeneration: generation });
      return {};
    }
    if (status.observedGeneration !== generation && status.phase !== 'create') {
      await this.writeStatus(runtime, app, { phase: 'create', message: '', observedGeneration: generation });
    }
    const kubeconfig = await this.options.clusters.kubeconfigOf(runtime.name);
    const call = { kubeconfig, signal };
    let appResources: AppResource[];
    try {
      await this.upgradeInstall(name, namespace, chart!.dir, values, call);
      appResources = appResourcesOf(await this.options.helm.manifest(name, namespace, call));
    } catch (err) {
      if (!(err instanceof HelmError) || signal.aborted) throw err;
      await this.writeStatus(runtime, app, { phase: 'failed', message: err.message, observedGeneration: generation });
      this.options.logger.warn('application install failed', { cluster: runtime.name, namespace, application: name, error: err.message });
      return { requeueAfterMs: this.options.retryMs ?? 30_000 };
    }
    const verb = missing.length > 0 ? 'repair' : 'install';
    await this.options.audit.recordSystem(ACTOR, verb, applicationPath(runtime.name, namespace, name), {
      chartName: app.spec.chartName,
      chartVersion: app.spec.chartVersion,
      ...(missing.length > 0 ? { restored: missing } : {}),
    });
    this.options.logger.info(`application ${verb}ed`, { cluster: runtime.name, namespace, application: name, chart: app.spec.chartName, version: app.spec.chartVersion });
    // Status lists the objects once the caches hold them, so the next look does not take a
    // lagging cache for drift and install again.
    await this.untilCached(runtime, appResources, namespace);
    await this.writeStatus(runtime, app, { phase: 'succeed', message: '', observedGeneration: generation, appResources, ...readyCounts(appResources, namespace, lookup) });
    return { requeueAfterMs: this.options.resyncMs ?? 300_000 };
  }

  /**
   * `helm upgrade --install`. A release left pending by a helm call that was cut short (zcloud
   * stopped mid-install) makes helm refuse with "another operation is in progress". Only this
   * reconcile runs helm for this release, so such a release is stale: a pending install is
   * uninstalled, a pending upgrade rolled back, and the install tried once more.
   */
  private async upgradeInstall(name: string, namespace: string, chartDir: string, values: Record<string, unknown>, call: HelmCall): Promise<void> {
    try {
      await this.options.helm.upgradeInstall(name, namespace, chartDir, { ...call, values });
    } catch (err) {
      if (!(err instanceof HelmError) || !/another operation .*is in progress/i.test(err.message)) throw err;
      await this.recoverInterruptedRelease(name, namespace, call);
      await this.options.helm.upgradeInstall(name, namespace, chartDir, { ...call, values });
    }
  }

  private async recoverInterruptedRelease(name: string, namespace: string, call: HelmCall): Promise<void> {
    const release = await this.options.helm.status(name, namespace, call);
    if (!release?.status.startsWith('pending-')) return;
    this.options.logger.warn('release left pending by an interrupted helm call; recovering', { namespace, release: name, status: release.status });
    if (release.status === 'pending-install') await this.options.helm.uninstall(name, namespace, call);
    else await this.options.helm.rollback(name, namespace, call);
  }

  private async untilCached(runtime: ClusterRuntime, resources: readonly AppResource[], namespace: string): Promise<void> {
    const deadline = Date.now() + CACHE_CATCH_UP_MS;
    for (const r of resources) {
      const informer = runtime.cache.informer(CACHE_OF_TYPE[r.type]);
      if (!informer) continue;
      await informer.waitFor((store) => store.get(namespace, r.name) !== undefined, Math.max(0, deadline - Date.now()));
    }
  }

  private async uninstall(runtime: ClusterRuntime, app: ApplicationObject, signal: AbortSignal): Promise<Result> {
    const { namespace = '', name } = app.metadata;
    if (!app.metadata.finalizers?.includes(APPLICATION_FINALIZER)) return {};
    if (app.status?.phase !== 'delete') await this.writeStatus(runtime, app, { phase: 'delete', message: '' });
    try {
      const kubeconfig = await this.options.clusters.kubeconfigOf(runtime.name);
      await this.options.helm.uninstall(name, namespace, { kubeconfig, signal });
    } catch (err) {
      if (!(err instanceof HelmError) || signal.aborted) throw err;
      await this.writeStatus(runtime, app, { phase: 'delete', message: `helm uninstall failed: ${err.message}` });
      this.options.logger.warn('application uninstall failed', { cluster: runtime.name, namespace, application: name, error: err.message });
      return { requeueAfterMs: this.options.retryMs ?? 30_000 };
    }
    await this.options.audit.recordSystem(ACTOR, 'uninstall', applicationPath(runtime.name, namespace, name), { chartName: app.spec.chartName, chartVersion: app.spec.chartVersion });
    const latest = runtime.cache.informer<ApplicationObject>('applications')?.store.get(namespace, name) ?? app;
    // Gone already: an earlier reconcile removed the finalizer and the cache had not caught up.
    await runtime.client
      .mergePatch('applications', namespace, name, {
        metadata: { resourceVersion: latest.metadata.resourceVersion, finalizers: (latest.metadata.finalizers ?? []).filter((f) => f !== APPLICATION_FINALIZER) },
      })
      .catch(ignoreNotFound);
    this.options.logger.info('application uninstalled', { cluster: runtime.name, namespace, application: name });
    return {};
  }

  /** Merges `change` into the status; no write when nothing would change. */
  private async writeStatus(runtime: ClusterRuntime, app: ApplicationObject, change: NonNullable<ApplicationObject['status']>): Promise<void> {
    const latest = runtime.cache.informer<ApplicationObject>('applications')?.store.get(app.metadata.namespace, app.metadata.name) ?? app;
    const current = latest.status ?? {};
    const changed = Object.entries(change).some(([k, v]) => JSON.stringify(current[k as keyof typeof current]) !== JSON.stringify(v));
    if (!changed) return;
    await runtime.client.mergePatchStatus('applications', app.metadata.namespace, app.metadata.name, { status: change }).catch(ignoreNotFound);
  }
}

export function applicationPath(cluster: string, namespace: string, name: string): string {
  return `/clusters/${cluster}/namespaces/${namespace}/applications/${name}`;
}

/** Kinds of objects a release holds whose changes may call for a repair or new ready counts. */
const RELEASE_OBJECT_KINDS = [...new Set(Object.values(CACHE_OF_TYPE))];

/**
 * The application controller. Keys come from Application changes in any cluster, from changes
 * of objects helm marks as a release's (annotations meta.helm.sh/release-*), and from the
 * Applications a cluster holds when it attaches (the CRD is installed then, by
 * applicationCrdController).
 */
export function applicationController(options: ApplicationReconcilerOptions): ControllerDefinition {
  return {
    name: 'application',
    workers: 4,
    reconciler: new ApplicationReconciler(options),
    watch: (on) => {
      on.objects('applications', (cluster, object) => applicationKey(cluster, object.metadata.namespace ?? '', object.metadata.name));
      for (const kind of RELEASE_OBJECT_KINDS) {
        on.objects(kind, (cluster, object) => {
          const release = object.metadata.annotations?.[RELEASE_NAME_ANNOTATION];
          const namespace = object.metadata.annotations?.[RELEASE_NAMESPACE_ANNOTATION];
          return release && namespace ? applicationKey(cluster, namespace, release) : undefined;
        });
      }
    },
  };
}

/**
 * Installs the Application CRD (and starts its informer) in every cluster zcloud attaches.
 * Key: the cluster's name. Retried with backoff while the cluster does not answer.
 */
export function applicationCrdController(options: { clusters: ClusterManager; waitPollMs?: number }): ControllerDefinition {
  return {
    name: 'application-crd',
    reconciler: {
      reconcile: async (cluster) => {
        const runtime = options.clusters.get(cluster);
        if (!runtime) return {};
        if (!runtime.cache.discovered) return { requeueAfterMs: options.waitPollMs ?? 500 };
        await ensureApplicationCache(runtime);
        return {};
      },
    },
    watch: (on) => on.clusters((event, cluster) => (event === 'attached' ? cluster : undefined)),
  };
}
