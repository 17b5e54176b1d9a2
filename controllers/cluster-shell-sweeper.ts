import type { ClusterManager } from '../src/clusters/cluster-manager.js';
import type { ControllerDefinition, Reconciler, Result } from '../src/controller.js';
import type { Logger } from '../src/logger.js';
import { SYSTEM_NAMESPACE } from '../src/apps/system-apps.js';
import { listClusterShells, removeClusterShell } from '../src/streaming/cluster-shell.js';

export interface ClusterShellSweeperOptions {
  clusters: ClusterManager;
  logger: Logger;
  /** A live session renews its shell's lease every third of this. */
  leaseMs: number;
}

/** Retry period while a cluster cannot be reached. */
const UNAVAILABLE_RETRY_MS = 30_000;
/**
 * A shell made before leases existed has none: it is left this long after it was found without
 * one (its session, if any, is older than this zcloud's start and ends with its old process).
 */
const UNLEASED_GRACE_MS = 24 * 3600_000;
/** Between sweeps of a cluster that has no shell, as a multiple of the lease. */
const QUIET_SWEEP_LEASES = 10;

/**
 * Deletes cluster shells (pod, ClusterRoleBinding to cluster-admin, ServiceAccount) whose lease
 * ran out: their session ended without its zcloud removing them (killed with -9, or cut off
 * from the cluster at the time). Key: cluster name. Reads the shells' accounts from the
 * cluster, deletes the expired ones, and comes back at the next lease end (or after ten
 * leases when the cluster has no shell).
 */
export class ClusterShellSweeper implements Reconciler {
  /** When a shell without a lease was first seen, by `<cluster>/<name>`. */
  readonly #unleasedSince = new Map<string, number>();

  constructor(private readonly options: ClusterShellSweeperOptions) {}

  async reconcile(cluster: string, signal: AbortSignal): Promise<Result> {
    const { clusters, leaseMs, logger } = this.options;
    const runtime = clusters.get(cluster);
    if (!runtime || runtime.deleting) return {};
    if (!runtime.available) return { requeueAfterMs: UNAVAILABLE_RETRY_MS };
    const now = Date.now();
    let next = now + QUIET_SWEEP_LEASES * leaseMs;
    for (const shell of await listClusterShells(runtime.http, signal)) {
      const key = `${cluster}/${shell.name}`;
      const until = shell.leaseUntil ?? this.#unleasedSince.get(key) ?? now + UNLEASED_GRACE_MS;
      if (shell.leaseUntil === undefined && !this.#unleasedSince.has(key)) this.#unleasedSince.set(key, until);
      if (until > now) {
        next = Math.min(next, until, now + leaseMs);
        continue;
      }
      await removeClusterShell(runtime.http, { name: shell.name, namespace: SYSTEM_NAMESPACE });
      this.#unleasedSince.delete(key);
      logger.info('cluster shell whose session ended without clean-up deleted', { cluster, shell: shell.name });
    }
    return { requeueAfterMs: Math.max(next - now, 1000) };
  }
}

/** Sweeps every attached cluster, on attach and then per lease. */
export function clusterShellSweeper(options: ClusterShellSweeperOptions): ControllerDefinition {
  return {
    name: 'cluster-shell-sweeper',
    reconciler: new ClusterShellSweeper(options),
    watch: (on) => on.clusters((event, cluster) => (event === 'attached' ? cluster : undefined)),
  };
}
