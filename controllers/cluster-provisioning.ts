import type { ClusterManager } from '../src/clusters/cluster-manager.js';
import type { ControllerDefinition, Reconciler, Result } from '../src/controller.js';
import type { Logger } from '../src/logger.js';
import type { ZcloudMetrics } from '../src/metrics.js';
import type { ProvisioningJournalStore } from '../src/provisioning/journal-store.js';
import type { ClusterPkiStore } from '../src/provisioning/pki-store.js';
import type { ProvisioningLog } from '../src/provisioning/provisioning-log.js';
import { runProvisioning } from '../src/provisioning/provisioning-run.js';

export interface ClusterProvisioningOptions {
  clusters: ClusterManager;
  journal: ProvisioningJournalStore;
  pki: ClusterPkiStore;
  log: ProvisioningLog;
  logger: Logger;
  /** Provisioning runs in parallel across clusters, at most this many. */
  parallelRuns: number;
  /** Where step durations go (zcloud_provisioning_step_duration_seconds). */
  metrics?: ZcloudMetrics;
}

/**
 * Drives each provisioned cluster in `Creating` through its run (src/provisioning): key =
 * cluster name. The journal makes it level-based: a zcloud restarted mid-run finds the cluster
 * still `Creating` (initial keys) and resumes at the first step not done. A failed step ends in
 * `CreateFailed` with the message naming the host and cause; a run cut short by zcloud stopping
 * leaves the cluster `Creating`, for the next start.
 */
export class ClusterProvisioningReconciler implements Reconciler {
  constructor(private readonly options: ClusterProvisioningOptions) {}

  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const { clusters, journal, pki, log, logger, metrics } = this.options;
    const source = clusters.provisioningRecord(key)?.source;
    if (source?.kind !== 'ssh' || source.phase !== 'Creating') return {};
    // Cancelled through the API, or zcloud stopping: every SSH and Docker call of the run listens on it.
    const runSignal = clusters.beginProvisioningRun(key, signal);
    try {
      await runProvisioning({
        cluster: key,
        spec: source.spec,
        journal,
        pki,
        log,
        signal: runSignal,
        onStepFinished: (step, outcome, seconds) => metrics?.provisioningStepDuration.observe({ step, outcome }, seconds),
      });
    } catch (err) {
      // zcloud is stopping: the cluster stays Creating, and the next start resumes it.
      if (signal.aborted) return {};
      const message = runSignal.aborted ? `cancelled (${(err as Error).message})` : (err as Error).message;
      logger.warn('cluster provisioning failed', { cluster: key, error: message });
      await clusters.finishProvisioning(key, { phase: 'CreateFailed', message });
      return {};
    } finally {
      clusters.endProvisioningRun(key);
    }
    await clusters.finishProvisioning(key, { phase: 'Running' });
    return {};
  }
}

export function clusterProvisioningController(options: ClusterProvisioningOptions): ControllerDefinition {
  return {
    name: 'cluster-provisioning',
    reconciler: new ClusterProvisioningReconciler(options),
    workers: options.parallelRuns,
    watch: (on) => {
      // Clusters left Creating by a stopped zcloud resume; the records are read by the caches phase first.
      on.initial(async () => {
        await options.clusters.loaded;
        return options.clusters.provisioningRecords().map((record) => record.name);
      });
    },
  };
}
