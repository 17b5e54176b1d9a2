import type Docker from 'dockerode';
import cron, { type ScheduledTask } from 'node-cron';
import type { ProvisionedClusterSpec, ProvisionedNode } from '../clusters/provisioning-spec.js';
import type { Logger } from '../logger.js';
import { untilAborted, type Runnable } from '../manager.js';
import type { DockerCallOptions } from './containers.js';
import { snapshotEtcd, type EtcdSnapshotResult } from './etcd-snapshot.js';
import { onProvisionedHost } from './host-session.js';
import type { ProvisioningJournalStore } from './journal-store.js';
import type { ClusterPkiStore } from './pki-store.js';
import type { ProvisioningLog } from './provisioning-log.js';

/** Certificates expiring within this are renewed by the daily check. */
export const RENEW_WITHIN_MS = 30 * 86_400_000;

export interface MaintenanceOptions {
  /** node-cron expressions (validated by src/config.ts). */
  etcdSnapshotSchedule: string;
  etcdSnapshotRetention: number;
  certCheckSchedule: string;
  /** The provisioned clusters that run now (only those are snapshotted and renewed). */
  runningClusters: () => ReadonlyArray<{ name: string; spec: ProvisionedClusterSpec }>;
  journal: ProvisioningJournalStore;
  pki: ClusterPkiStore;
  log: ProvisioningLog;
  logger: Logger;
  /** Asks for a run of the cluster that puts renewed certificates on its hosts (the provisioning controller's queue). */
  requestRerun: (cluster: string) => void;
  callTimeoutMs?: number;
}

/**
 * The periodic work of provisioned clusters, on node-cron schedules: etcd snapshots on every etcd
 * host, and the certificate-expiry check. A Runnable: the schedules start with it and stop when
 * its signal aborts, after the jobs in flight have finished (each remote call obeys the signal).
 * A job that fails is logged (zcloud's log and the cluster's provisioning log) and tried again at
 * its next time; it never stops zcloud.
 */
export class ProvisioningMaintenance implements Runnable {
  readonly name = 'provisioning-maintenance';
  readonly #inFlight = new Set<Promise<unknown>>();
  #signal: AbortSignal = new AbortController().signal;

  constructor(private readonly options: MaintenanceOptions) {}

  async start(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    const { etcdSnapshotSchedule, certCheckSchedule, logger } = this.options;
    // node-cron's own messages (a round skipped because the last one still runs) go to zcloud's log, not the console.
    const cronLogger = {
      info: (message: string) => logger.debug(message, { part: 'node-cron' }),
      warn: (message: string) => logger.warn(message, { part: 'node-cron' }),
      error: (message: string | Error) => logger.error(String(message), { part: 'node-cron' }),
      debug: (message: string | Error) => logger.debug(String(message), { part: 'node-cron' }),
    };
    // noOverlap: a slow snapshot round is not started twice.
    const tasks: ScheduledTask[] = [
      cron.schedule(etcdSnapshotSchedule, () => this.#track(this.snapshotAll()), { name: 'etcd-snapshots', noOverlap: true, logger: cronLogger }),
      cron.schedule(certCheckSchedule, () => this.#track(this.renewCertificates()), { name: 'certificate-check', noOverlap: true, logger: cronLogger }),
    ];
    await untilAborted(signal);
    for (const task of tasks) await task.destroy();
    await Promise.allSettled([...this.#inFlight]);
  }

  #track<T>(job: Promise<T>): Promise<T> {
    this.#inFlight.add(job);
    return job.finally(() => this.#inFlight.delete(job));
  }

  /** One snapshot round: every etcd host of every running provisioned cluster. What the snapshot schedule runs. */
  async snapshotAll(): Promise<Array<{ cluster: string; node: string; result?: EtcdSnapshotResult; error?: string }>> {
    const outcomes: Array<{ cluster: string; node: string; result?: EtcdSnapshotResult; error?: string }> = [];
    for (const { name, spec } of this.options.runningClusters()) {
      for (const node of spec.nodes.filter((n) => n.roles.includes('etcd'))) {
        if (this.#signal.aborted) return outcomes;
        try {
          const result = await this.#onHost(name, spec, node, (docker, options) => snapshotEtcd(docker, node, this.options.etcdSnapshotRetention, options));
          this.options.log.append(name, `[etcd-snapshot] ${node.name}: saved ${result.file}; ${result.kept.length} kept`);
          outcomes.push({ cluster: name, node: node.name, result });
        } catch (err) {
          const error = (err as Error).message;
          this.options.log.append(name, `[etcd-snapshot] ${node.name}: failed: ${error}`);
          this.options.logger.warn('etcd snapshot failed', { cluster: name, node: node.name, error });
          outcomes.push({ cluster: name, node: node.name, error });
        }
      }
    }
    return outcomes;
  }

  /**
   * The certificate check: every leaf certificate of a running provisioned cluster that expires
   * within 30 days is issued again in the PKI store (same CA), and the cluster is queued for a
   * run that writes the new files and restarts the containers reading them. What the daily
   * schedule runs; returns the renewed certificate ids by cluster.
   */
  async renewCertificates(now = new Date()): Promise<Record<string, string[]>> {
    const renewedByCluster: Record<string, string[]> = {};
    for (const { name, spec } of this.options.runningClusters()) {
      try {
        const renewed = await this.options.pki.renewExpiring(name, spec, new Date(now.getTime() + RENEW_WITHIN_MS));
        if (renewed.length === 0) continue;
        renewedByCluster[name] = renewed;
        this.options.log.append(name, `[certificates] renewed ${renewed.join(', ')} (expiring within 30 days); a run puts them on the hosts`);
        this.options.requestRerun(name);
      } catch (err) {
        this.options.logger.warn('certificate renewal failed', { cluster: name, error: (err as Error).message });
      }
    }
    return renewedByCluster;
  }

  /** Runs `work` against the Docker of `node`, over SSH with its pinned host key. */
  #onHost<T>(cluster: string, spec: ProvisionedClusterSpec, node: ProvisionedNode, work: (docker: Docker, options: DockerCallOptions) => Promise<T>): Promise<T> {
    return onProvisionedHost(cluster, spec, node, { journal: this.options.journal, timeoutMs: this.options.callTimeoutMs ?? 60_000, signal: this.#signal }, work);
  }
}
