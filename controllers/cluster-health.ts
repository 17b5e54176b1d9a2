import type { ClusterManager } from '../src/clusters/cluster-manager.js';
import type { ControllerDefinition, Reconciler, Result } from '../src/controller.js';
import type { Logger } from '../src/logger.js';
import type { ZcloudMetrics } from '../src/metrics.js';

export interface ClusterHealthOptions {
  clusters: ClusterManager;
  logger: Logger;
  /** Probe period of a healthy cluster. */
  intervalMs: number;
  /** A probe without an answer by then fails. Default min(5 s, interval). */
  probeTimeoutMs?: number;
  /** Where probe latencies go. */
  metrics?: ZcloudMetrics;
}

/** Failures in a row before a cluster is Unreachable: one lost probe is not an outage. */
const FAILURES_TO_UNREACHABLE = 2;

/**
 * Keeps each cluster's health current: probes `GET /version`, records version and
 * reachability, and wakes the cache's reflectors when an unreachable cluster answers again.
 * Key: cluster name. Polls every `intervalMs`, each cluster at its own phase (untilNextProbe);
 * after a first failure it re-probes within 2 s, so an outage shows within 1.5 · interval +
 * 2 s + 2 · timeout (≤ 35 s at the defaults).
 */
export class ClusterHealthReconciler implements Reconciler {
  constructor(private readonly options: ClusterHealthOptions) {}

  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const { clusters, logger, intervalMs } = this.options;
    const runtime = clusters.get(key);
    if (!runtime || runtime.deleting) {
      // A removed cluster's probe series go with it, so the cluster label stays bounded.
      for (const outcome of ['ok', 'error']) this.options.metrics?.healthProbeDuration.remove({ cluster: key, outcome });
      return {};
    }
    const health = runtime.health;
    const timeoutMs = this.options.probeTimeoutMs ?? Math.min(5000, intervalMs);
    const probe = this.options.metrics?.healthProbeDuration.startTimer({ cluster: key });
    health.lastProbeAt = new Date().toISOString();
    try {
      const version = await runtime.http.request<{ gitVersion?: string }>('GET', '/version', { timeoutMs, signal });
      probe?.({ outcome: 'ok' });
      const wasUnreachable = health.reachable === false;
      health.reachable = true;
      health.consecutiveFailures = 0;
      health.version = version.gitVersion;
      health.lastError = undefined;
      if (wasUnreachable) {
        logger.info('cluster reachable again', { cluster: key });
        runtime.cache.wakeUp();
      }
    } catch (err) {
      if (signal.aborted) return {};
      probe?.({ outcome: 'error' });
      health.consecutiveFailures++;
      health.lastError = (err as Error).message;
      if (health.consecutiveFailures >= FAILURES_TO_UNREACHABLE && health.reachable !== false) {
        health.reachable = false;
        logger.warn('cluster unreachable', { cluster: key, error: health.lastError });
      }
    }
    const confirming = health.consecutiveFailures > 0 && health.consecutiveFailures < FAILURES_TO_UNREACHABLE;
    return { requeueAfterMs: confirming ? Math.min(intervalMs, 2000) : untilNextProbe(key, intervalMs, Date.now()) };
  }
}

/**
 * Milliseconds from `nowMs` to `cluster`'s next probe slot. Each cluster probes at its own
 * phase of the interval (a hash of its name), so clusters imported together do not probe in
 * one burst every interval: at N clusters about N / interval probes start per second. The
 * next slot is at least half an interval away (never two probes back to back), so a probe
 * taken off its phase (the first, or after a failure) is followed within 0.5-1.5 intervals and
 * then on phase, every `intervalMs`.
 */
export function untilNextProbe(cluster: string, intervalMs: number, nowMs: number): number {
  const phase = phaseOf(cluster) * intervalMs;
  let next = Math.floor((nowMs - phase) / intervalMs) * intervalMs + phase;
  while (next - nowMs < intervalMs / 2) next += intervalMs;
  return Math.round(next - nowMs);
}

/** A stable fraction in [0, 1) from the name: FNV-1a, then murmur3's finaliser so similar names (c-1, c-2) land far apart. */
function phaseOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return ((hash ^ (hash >>> 16)) >>> 0) / 2 ** 32;
}

/**
 * Probes every attached cluster, up to 16 at a time. A probe is a wait on an apiserver: with
 * 100 clusters at a 10 s interval, 10 start per second, and at 200 ms an answer (a loaded
 * apiserver) two workers were already full, so probes queued behind slow ones and finished in
 * bursts (62 in one second, issue 20). 16 keep up with answers of up to 1.6 s at that rate.
 */
export function clusterHealthController(options: ClusterHealthOptions): ControllerDefinition {
  return {
    name: 'cluster-health',
    reconciler: new ClusterHealthReconciler(options),
    workers: 16,
    // Detached too: the reconcile then finds no runtime and drops the cluster's probe series.
    watch: (on) => on.clusters((_event, cluster) => cluster),
  };
}
