import { setTimeout as sleep } from 'node:timers/promises';
import { KubeApiError, type KubeHttp } from './kube/kube-http.js';
import type { Logger } from './logger.js';
import type { Runnable } from './manager.js';

export interface LeaderElectionOptions {
  http: KubeHttp;
  namespace: string;
  /** The Lease's name. */
  lease: string;
  /** This replica, as written in `holderIdentity` (host and pid: unique while it lives). */
  identity: string;
  /** What only the leader runs: reconcilers and periodic jobs. */
  leading: readonly Runnable[];
  logger: Logger;
  /**
   * How long a Lease not renewed stays another replica's. Default 10 s: with the retry period,
   * a dead leader is replaced within ~12 s (the issue asks for 15).
   */
  leaseDurationMs?: number;
  /**
   * The leader steps down when it could not renew for this long. Default 7 s, shorter than the
   * lease: a partitioned leader has stopped reconciling before anyone can take its Lease.
   */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
}

interface LeaseObject {
  metadata: { name: string; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

/** Thrown when this replica lost the Lease: the process stops (and its pod restarts), as controller-runtime does. */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease (after client-go's leaderelection): every
 * replica tries to acquire it every retry period; the holder renews it. Another holder's Lease
 * counts as expired when it has not changed *as seen by this replica* for the lease duration
 * (local clocks only; no comparison of clocks across machines). While leading, the `leading`
 * runnables run; when a renewal has not succeeded for the renew deadline they are stopped and
 * `start` rejects with LeadershipLostError. On a normal stop they are stopped first, then the
 * Lease is released (holder emptied), so a successor takes over at its next retry.
 */
export class LeaderElection implements Runnable {
  readonly name = 'leader-election';
  readonly #options: Required<Omit<LeaderElectionOptions, 'leading'>> & { leading: readonly Runnable[] };
  readonly #path: string;
  /** The other holder's Lease as last seen, and when it was first seen that way. */
  #observed: { key: string; at: number } | undefined;
  #leading = false;
  #renewedAt: number | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#options = { leaseDurationMs: 10_000, renewDeadlineMs: 7_000, retryPeriodMs: 2_000, ...options };
    if (this.#options.renewDeadlineMs >= this.#options.leaseDurationMs) throw new Error('leader election: the renew deadline must be shorter than the lease duration');
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${options.namespace}/leases`;
  }

  /** When this replica last acquired or renewed the Lease (ms since the epoch), if ever. */
  get renewedAt(): number | undefined {
    return this.#renewedAt;
  }

  /** Whether this replica leads now (for /metrics and tests). */
  get isLeader(): boolean {
    return this.#leading;
  }

  async start(signal: AbortSignal): Promise<void> {
    const { logger, retryPeriodMs } = this.#options;
    const attempt = () =>
      this.tryAcquireOrRenew().catch((err: unknown) => {
        logger.warn('lease not acquired', { error: (err as Error).message });
        return false;
      });
    while (!signal.aborted && !(await attempt())) await sleep(retryPeriodMs, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    this.#leading = true;
    logger.info('became the leader', { lease: this.#options.lease, identity: this.#options.identity });
    const leading = new AbortController();
    const stopLeading = AbortSignal.any([signal, leading.signal]);
    let failure: unknown;
    const running = Promise.all(
      this.#options.leading.map((runnable) =>
        runnable.start(stopLeading).catch((err: unknown) => {
          failure ??= err;
          leading.abort();
        }),
      ),
    );
    const lost = await this.renewWhileLeading(stopLeading);
    leading.abort();
    await running;
    this.#leading = false;
    if (failure !== undefined) throw failure;
    if (lost) throw new LeadershipLostError(`lost Lease ${this.#options.namespace}/${this.#options.lease}: not renewed within ${this.#options.renewDeadlineMs} ms`);
    await this.release();
  }

  /** Renews every retry period until `signal` aborts (false) or the renew deadline passes (true). */
  private async renewWhileLeading(signal: AbortSignal): Promise<boolean> {
    let renewedAt = Date.now();
    while (!signal.aborted) {
      await sleep(this.#options.retryPeriodMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return false;
      const renewed = await this.tryAcquireOrRenew().catch((err: unknown) => {
        this.#options.logger.warn('lease renewal failed', { error: (err as Error).message });
        return false;
      });
      if (renewed) renewedAt = Date.now();
      else if (Date.now() - renewedAt >= this.#options.renewDeadlineMs) {
        this.#options.logger.error('leadership lost: stopping the reconcilers', { lease: this.#options.lease });
        return true;
      }
    }
    return false;
  }

  /** One attempt: true when this replica holds the Lease afterwards. Conflicts (another writer) are a plain false. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { http, lease, identity, leaseDurationMs } = this.#options;
    const now = new Date();
    const spec = (previous?: LeaseObject['spec']) => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: previous?.holderIdentity === identity ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (previous?.holderIdentity === identity ? 0 : 1),
    });
    try {
      let current: LeaseObject;
      try {
        current = await http.request<LeaseObject>('GET', `${this.#path}/${lease}`);
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 404)) throw err;
        await http.request('POST', this.#path, { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: lease }, spec: { ...spec(), leaseTransitions: 0 } } });
        this.#renewedAt = now.getTime();
        return true;
      }
      const holder = current.spec?.holderIdentity ?? '';
      if (holder && holder !== identity) {
        const key = `${holder}/${current.spec?.renewTime ?? ''}`;
        if (this.#observed?.key !== key) this.#observed = { key, at: Date.now() };
        const durationMs = (current.spec?.leaseDurationSeconds ?? Math.ceil(leaseDurationMs / 1000)) * 1000;
        if (Date.now() - this.#observed.at < durationMs) return false;
        this.#options.logger.info('taking over an expired lease', { lease, from: holder });
      }
      await http.request('PUT', `${this.#path}/${lease}`, { body: { ...current, spec: spec(current.spec) } });
      this.#renewedAt = now.getTime();
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 409) return false;
      throw err;
    }
  }

  /** Empties the holder so a successor need not wait for the lease to expire. */
  private async release(): Promise<void> {
    const { http, lease, identity, logger } = this.#options;
    try {
      const current = await http.request<LeaseObject>('GET', `${this.#path}/${lease}`);
      if (current.spec?.holderIdentity !== identity) return;
      await http.request('PUT', `${this.#path}/${lease}`, { body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 } } });
      logger.info('lease released', { lease });
    } catch (err) {
      // Not released: the successor waits for the lease to expire instead.
      logger.warn('lease not released', { lease, error: (err as Error).message });
    }
  }
}
