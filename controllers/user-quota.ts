import type { AuditTrail } from '../src/audit.js';
import type { ClusterManager, ClusterRuntime } from '../src/clusters/cluster-manager.js';
import type { ControllerDefinition, Reconciler, Result } from '../src/controller.js';
import { ClusterUnavailableError, ignoreNotFound } from '../src/errors.js';
import type { ResourceQuotaObject } from '../src/kube/objects.js';
import type { Logger } from '../src/logger.js';
import { CREATED_BY_ANNOTATION, OWNER_ANNOTATION, QUOTA_LABEL, QUOTA_OBJECT_NAME, userQuotasCollection, type UserQuotaRecord } from '../src/quotas/user-quota.js';
import type { ResourceStatus } from '../src/status/resource-status.js';
import type { Store, StoreCollection } from '../src/store/store.js';
import type { UserService } from '../src/users.js';
import { nextQuotaStep, type QuotaObservation, type QuotaStep } from './user-quota-steps.js';

export interface UserQuotaReconcilerOptions {
  store: Store;
  clusters: ClusterManager;
  users: UserService;
  audit: AuditTrail;
  logger: Logger;
  /** Poll period while a cluster is away. */
  waitPollMs?: number;
  /** Re-check of an applied request, as a safety net beside the informer triggers. */
  resyncMs?: number;
  /** Where the request's decision and progress are shown to kubectl users; none: not shown. */
  status?: ResourceStatus;
}

const ACTOR = 'userquota-controller';
/** Steps per reconcile; each re-observes, so a handful always suffices. */
const MAX_STEPS = 8;

/**
 * Drives each request to its decision: for an approved one, the namespace exists, a
 * ResourceQuota in it holds the approved requests.cpu/memory/storage, and the owner holds the
 * project; for a deleted one, the project is revoked and the namespace zcloud created is gone.
 * Level-based: every reconcile observes the cluster cache and the store, takes the next step,
 * and records progress (`applied`, `message`) only when it changes. Key: the request id.
 */
export class UserQuotaReconciler implements Reconciler {
  readonly #records: StoreCollection<UserQuotaRecord>;

  constructor(private readonly options: UserQuotaReconcilerOptions) {
    this.#records = options.store.collection(userQuotasCollection);
  }

  async reconcile(id: string, signal: AbortSignal): Promise<Result> {
    for (let i = 0; i < MAX_STEPS; i++) {
      // Stopping: take no further step; the next start reconciles every request again.
      if (signal.aborted) return {};
      const record = await this.#records.get(id);
      if (!record) return {};
      const step = nextQuotaStep(record, await this.observe(record));
      switch (step.kind) {
        case 'done':
          await this.setProgress(id, Boolean(record.approved), record.approved ? 'applied' : '');
          return record.approved ? { requeueAfterMs: this.options.resyncMs ?? 300_000 } : {};
        case 'wait':
          await this.setProgress(id, false, step.message);
          return { requeueAfterMs: this.options.waitPollMs ?? 5000 };
        case 'stuck':
          await this.setProgress(id, false, step.message);
          return { requeueAfterMs: this.options.resyncMs ?? 300_000 };
        case 'forget':
          await this.#records.delete(id);
          await this.options.status?.userQuotaRemoved(id);
          await this.options.audit.recordSystem(ACTOR, 'forget', `/userquotas/${id}`);
          return {};
        default:
          try {
            await this.apply(record, step);
          } catch (err) {
            // The cluster went away under us: record why and poll, rather than hot-retry.
            if (!(err instanceof ClusterUnavailableError)) throw err;
            await this.setProgress(id, false, `waiting for cluster ${record.approved?.clusterName}: ${err.message}`);
            return { requeueAfterMs: this.options.waitPollMs ?? 5000 };
          }
      }
    }
    return { requeueAfterMs: 1000 };
  }

  private runtimeOf(record: UserQuotaRecord): ClusterRuntime | undefined {
    return record.approved ? this.options.clusters.get(record.approved.clusterName) : undefined;
  }

  private async observe(record: UserQuotaRecord): Promise<QuotaObservation> {
    const user = await this.options.users.get(record.userName);
    const userProjects = user?.projects;
    const runtime = this.runtimeOf(record);
    if (!record.approved) return { cluster: 'missing', userProjects };
    if (!runtime) return { cluster: 'missing', userProjects };
    if (!runtime.available) return { cluster: 'unavailable', userProjects };
    const namespace = runtime.cache.informer('namespaces')?.store.get(undefined, record.namespace);
    const quota = runtime.cache.informer<ResourceQuotaObject>('resourcequotas')?.store.get(record.namespace, QUOTA_OBJECT_NAME);
    return { cluster: 'available', namespace, quota, userProjects };
  }

  private async apply(record: UserQuotaRecord, step: QuotaStep): Promise<void> {
    const runtime = this.runtimeOf(record);
    const cluster = record.approved?.clusterName ?? '';
    const nsPath = `/clusters/${cluster}/namespaces/${record.namespace}`;
    const marks = { labels: { [QUOTA_LABEL]: record.id }, annotations: { [OWNER_ANNOTATION]: record.userName } };
    const audit = (verb: string, path: string, body?: unknown): Promise<void> =>
      this.options.audit.recordSystem(ACTOR, verb, path, { userquota: record.id, ...(body as object) });
    switch (step.kind) {
      case 'create-namespace':
        await runtime!.client.create('namespaces', {
          metadata: { name: record.namespace, labels: marks.labels, annotations: { ...marks.annotations, [CREATED_BY_ANNOTATION]: record.id } },
        });
        await audit('create', nsPath);
        return;
      case 'adopt-namespace':
        // An existing namespace is marked, never taken over for deletion (no created-by mark).
        await runtime!.client.mergePatch('namespaces', undefined, record.namespace, { metadata: marks });
        await audit('adopt', nsPath);
        return;
      case 'create-quota':
        await runtime!.client.create('resourcequotas', step.quota);
        await audit('create', `${nsPath}/resourcequotas/${QUOTA_OBJECT_NAME}`, { hard: step.quota.spec?.hard });
        return;
      case 'update-quota':
        await runtime!.client.mergePatch('resourcequotas', record.namespace, QUOTA_OBJECT_NAME, {
          metadata: step.quota.metadata,
          spec: { hard: { ...nullKeys(runtime!, record), ...step.quota.spec?.hard } },
        });
        await audit('update', `${nsPath}/resourcequotas/${QUOTA_OBJECT_NAME}`, { hard: step.quota.spec?.hard });
        return;
      case 'grant-project':
        await this.options.users.grantProject(record.userName, { cluster, namespace: record.namespace });
        await audit('grant', `/users/${record.userName}`, { project: { cluster, namespace: record.namespace } });
        return;
      case 'revoke-project':
        await this.options.users.revokeProject(record.userName, { cluster, namespace: record.namespace });
        await audit('revoke', `/users/${record.userName}`, { project: { cluster, namespace: record.namespace } });
        return;
      case 'delete-namespace':
        await runtime!.client.delete('namespaces', undefined, record.namespace).catch(ignoreNotFound);
        await audit('delete', nsPath);
        return;
      default:
        throw new Error(`unexpected quota step ${step.kind}`);
    }
  }

  private async setProgress(id: string, applied: boolean, message: string): Promise<void> {
    let record = await this.#records.get(id);
    if (!record) return;
    if (record.applied !== applied || record.message !== message) {
      record = await this.#records.update(id, (current) => ({ ...current, applied, message }));
      this.options.logger.info('userquota progress', { userquota: id, applied, message });
    }
    const { userName, namespace, purpose, requested, approved, status } = record;
    await this.options.status?.userQuota(id, { userName, namespace, purpose, requested, approved, status }, { phase: status, applied, message });
  }
}

/** Hard keys someone added by hand are dropped (a merge patch deletes a key set to null). */
function nullKeys(runtime: ClusterRuntime, record: UserQuotaRecord): Record<string, null> {
  const live = runtime.cache.informer<ResourceQuotaObject>('resourcequotas')?.store.get(record.namespace, QUOTA_OBJECT_NAME);
  return Object.fromEntries(Object.keys(live?.spec?.hard ?? {}).map((key) => [key, null]));
}

/**
 * The userquota controller. Keys: request ids, from the store at start (so work cut short by a
 * restart resumes), from the API (the service enqueues on every decision), and from drift of the
 * namespaces and ResourceQuotas zcloud labelled in any cluster.
 */
export function userQuotaController(options: UserQuotaReconcilerOptions): ControllerDefinition {
  const records = options.store.collection(userQuotasCollection);
  return {
    name: 'userquota',
    reconciler: new UserQuotaReconciler(options),
    watch: (on) => {
      for (const kind of ['resourcequotas', 'namespaces'] as const) on.objects(kind, (_cluster, object) => object.metadata.labels?.[QUOTA_LABEL]);
      on.initial(async () => (await records.list()).map((record) => record.id));
      // An approval another replica stored (kubernetes store).
      on.records(userQuotasCollection, (id) => id);
    },
  };
}
