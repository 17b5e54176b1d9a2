import type { ClusterManager } from '../src/clusters/cluster-manager.js';
import type { ProvisionedClusterSpec, ProvisionedNode } from '../src/clusters/provisioning-spec.js';
import type { ControllerDefinition, Reconciler, Result } from '../src/controller.js';
import type { Logger } from '../src/logger.js';
import type { ZcloudMetrics } from '../src/metrics.js';
import { deprovisionCluster, removeNode } from '../src/provisioning/deprovision.js';
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
 * Drives each provisioned cluster through the run its phase asks for (src/provisioning): key =
 * cluster name.
 * - `Creating`: the steps of its spec; `Running`, or `CreateFailed` with the message naming the
 *   host and cause.
 * - `Updating`: the steps again (a new journal generation: new nodes get their certificates,
 *   files and containers, the others find nothing to change), then each removed node taken off
 *   its host; `Running`, with a message if it was cancelled or failed (a PUT finishes it).
 * - `Canceling` (a cancel of either run, `canceling` in the record): the run's signal is aborted; it
 *   ends `CreateFailed` or `Running` as above, also when zcloud stopped before the run did.
 * - `Deleting`: every host cleaned, then the record forgotten; an unreachable host is retried
 *   with the queue's backoff (1 s doubling to 30 s), the message saying which.
 * The journal and the record make it level-based: a zcloud restarted mid-run finds the phase
 * unchanged (initial keys) and resumes at the first step not done.
 */
export class ClusterProvisioningReconciler implements Reconciler {
  constructor(private readonly options: ClusterProvisioningOptions) {}

  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const { clusters } = this.options;
    const source = clusters.provisioned(key)?.source;
    // Cancelled, then zcloud stopped before the run did: the run ends here instead of resuming.
    if (source?.canceling && source.phase === 'Creating') {
      await clusters.finishProvisioning(key, { phase: 'CreateFailed', message: 'cancelled (zcloud stopped while the run was stopping)' });
      return {};
    }
    if (source?.canceling && source.phase === 'Updating') {
      await clusters.finishUpdate(key, 'update cancelled (zcloud stopped while the run was stopping); PUT the cluster again to finish it');
      return {};
    }
    switch (source?.phase) {
      case 'Creating':
        return this.create(key, source.spec, signal);
      case 'Updating':
        return this.update(key, source.spec, source.removedNodes, signal);
      case 'Deleting':
        return this.delete(key, source.spec, source.removedNodes, signal);
      default:
        return {};
    }
  }

  private run(key: string, spec: ProvisionedClusterSpec, signal: AbortSignal): Promise<void> {
    const { journal, pki, log, metrics } = this.options;
    return runProvisioning({
      cluster: key,
      spec,
      journal,
      pki,
      log,
      signal,
      onStepFinished: (step, outcome, seconds) => metrics?.provisioningStepDuration.observe({ step, outcome }, seconds),
    });
  }

  private async create(key: string, spec: ProvisionedClusterSpec, signal: AbortSignal): Promise<Result> {
    const { clusters, logger } = this.options;
    // Cancelled through the API, or zcloud stopping: every SSH and Docker call of the run listens on it.
    const runSignal = clusters.beginProvisioningRun(key, signal);
    try {
      await this.run(key, spec, runSignal);
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

  private async update(key: string, spec: ProvisionedClusterSpec, removedNodes: readonly ProvisionedNode[], signal: AbortSignal): Promise<Result> {
    const { clusters, journal, log, logger } = this.options;
    const runSignal = clusters.beginProvisioningRun(key, signal);
    try {
      await this.run(key, spec, runSignal);
      for (const node of removedNodes) {
        const runtime = clusters.get(key);
        if (!runtime) throw new Error(`cluster ${key} has no connection to its apiserver`);
        await removeNode(node, { cluster: key, spec, journal, log, kube: runtime.http, signal: runSignal });
        await clusters.nodeRemoved(key, node.name);
      }
    } catch (err) {
      // zcloud is stopping: the cluster stays Updating, and the next start resumes it.
      if (signal.aborted) return {};
      const cause = (err as Error).message;
      const message = runSignal.aborted ? `update cancelled (${cause}); PUT the cluster again to finish it` : `update failed: ${cause}; PUT the cluster again to retry it`;
      logger.warn('cluster update ended early', { cluster: key, error: message });
      await clusters.finishUpdate(key, message);
      return {};
    } finally {
      clusters.endProvisioningRun(key);
    }
    log.append(key, 'update complete');
    await clusters.finishUpdate(key);
    return {};
  }

  private async delete(key: string, spec: ProvisionedClusterSpec, removedNodes: readonly ProvisionedNode[], signal: AbortSignal): Promise<Result> {
    const { clusters, journal, pki, log } = this.options;
    try {
      await deprovisionCluster({ cluster: key, spec, removedNodes, journal, pki, log, signal });
    } catch (err) {
      if (signal.aborted) return {};
      await clusters.deletionDelayed(key, `retrying with backoff: ${(err as Error).message}`);
      throw err;
    }
    await clusters.forgetDeleted(key);
    return {};
  }
}

export function clusterProvisioningController(options: ClusterProvisioningOptions): ControllerDefinition {
  return {
    name: 'cluster-provisioning',
    reconciler: new ClusterProvisioningReconciler(options),
    workers: options.parallelRuns,
    watch: (on) => {
      // Clusters a stopped zcloud left Creating, Updating or Deleting resume; the records are read by the caches phase first.
      on.initial(async () => {
        await options.clusters.loaded;
        return options.clusters.provisioningWork();
      });
    },
  };
}
