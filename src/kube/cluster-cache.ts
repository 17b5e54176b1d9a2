import { randomUUID } from 'node:crypto';
import { Backoff, sleep } from '../backoff.js';
import type { Logger } from '../logger.js';
import { Informer } from './informer.js';
import { KubeApiError, type KubeHttp } from './kube-http.js';
import { resourceVersionAtLeast, type KubeObject } from './kube-object.js';
import type { ObjectEvents } from './object-events.js';
import { CACHED_KIND_NAMES, CACHED_KINDS, type CachedKindName, type ResourceKind } from './resource-kind.js';

export interface ClusterCacheOptions {
  /** The cluster's name, as events are published under it. */
  cluster: string;
  http: KubeHttp;
  logger: Logger;
  /** Where every informer's events go (shared by every cluster). */
  events: ObjectEvents;
  minWatchTimeoutSeconds?: number;
}

/** How often an optional kind's discovery is retried while waiting for the apiserver to serve it. */
const LATE_DISCOVERY_RETRY_MS = 200;
/**
 * How often a late informer's `hasSynced` is checked: the reflector reports no event for an empty
 * first LIST, so there is nothing to wait on but the flag itself.
 */
const SYNC_CHECK_MS = 20;

/** How fresh the cache of one kind is, for response headers. */
export interface Freshness {
  resourceVersion: string | undefined;
  /** ms since the apiserver last told this informer something. */
  ageMs: number;
}

/** What the cluster resource shows of one informer. */
export interface InformerState {
  kind: CachedKindName;
  /** Its first LIST completed (stays true while it later relists or retries). */
  synced: boolean;
  /** Why its last LIST/WATCH failed, while it is failing; '' otherwise. */
  lastError: string;
}

/**
 * One informer per cached kind of one cluster. `run` discovers which API versions the cluster
 * serves (retrying with backoff while it is unreachable, never blocking its caller's start-up),
 * then runs every informer until `signal` aborts.
 */
export class ClusterCache {
  readonly #informers = new Map<CachedKindName, Informer>();
  readonly #kinds = new Map<CachedKindName, ResourceKind>();
  #discovered = false;
  #wake = new AbortController();
  /** The signal `run` was given, for informers started later (ensureInformer). */
  #signal: AbortSignal | undefined;
  /** Runs of informers started after `run` began; awaited before `run` returns. */
  readonly #lateRuns: Promise<void>[] = [];
  readonly #starting = new Map<CachedKindName, Promise<Informer | undefined>>();

  /** This cache's identity: versions of another cache (the cluster re-imported, zcloud restarted) never equal its own. */
  readonly #instance = randomUUID();
  /** Bumped by every change of any cached object of the cluster. */
  #changes = 0;

  constructor(private readonly options: ClusterCacheOptions) {}

  /**
   * The version of everything cached for the cluster: it changes whenever any object of any
   * kind does, so an answer derived only from this cache is the same while it is. The lists'
   * ETags are made from it instead of hashing their bodies.
   */
  get contentVersion(): string {
    return `${this.#instance}.${this.#changes}`;
  }

  get discovered(): boolean {
    return this.#discovered;
  }

  /** Every informer (of a non-optional kind) has completed its first LIST. */
  get synced(): boolean {
    if (!this.#discovered) return false;
    for (const informer of this.#informers.values()) if (!informer.kind.optional && !informer.hasSynced) return false;
    return true;
  }

  /**
   * Discovered, and every informer (of a non-optional kind) has either completed its first LIST
   * or is failing: the cache has done what it can, and what it holds may be served kind by kind
   * (`kindAvailable`). One failing kind (say, forbidden by RBAC) no longer holds back the others.
   */
  get settled(): boolean {
    if (!this.#discovered) return false;
    for (const informer of this.#informers.values()) {
      if (!informer.kind.optional && !informer.hasSynced && informer.reflector.state !== 'failing') return false;
    }
    return true;
  }

  /**
   * Whether reads of `name` may be served: its informer has listed and is not failing now.
   * Otherwise the reason, for the 503 message.
   */
  kindAvailability(name: CachedKindName): { available: true } | { available: false; reason: string } {
    const informer = this.#informers.get(name);
    if (!informer) return { available: false, reason: this.#discovered ? `the cluster serves no ${name}` : 'API discovery has not completed' };
    if (informer.reflector.state === 'failing') return { available: false, reason: `the ${name} cache is failing: ${informer.reflector.lastError ?? 'unknown error'}` };
    if (!informer.hasSynced) return { available: false, reason: `the ${name} cache is still listing` };
    return { available: true };
  }

  /** Every informer's state, in the order of CACHED_KINDS. */
  informerStates(): InformerState[] {
    return CACHED_KIND_NAMES.flatMap((kind) => {
      const informer = this.#informers.get(kind);
      if (!informer) return [];
      const failing = informer.reflector.state === 'failing';
      return [{ kind, synced: informer.hasSynced, lastError: failing ? (informer.reflector.lastError ?? 'unknown error') : '' }];
    });
  }

  /** The informer of `name`; undefined before discovery. */
  informer<T extends KubeObject = KubeObject>(name: CachedKindName): Informer<T> | undefined {
    return this.#informers.get(name) as Informer<T> | undefined;
  }

  /** The API version discovered for `name`; undefined before discovery. */
  kind(name: CachedKindName): ResourceKind | undefined {
    return this.#kinds.get(name);
  }

  informers(): ReadonlyMap<CachedKindName, Informer> {
    return this.#informers;
  }

  freshness(name: CachedKindName): Freshness {
    const reflector = this.#informers.get(name)?.reflector;
    return {
      resourceVersion: reflector?.lastSyncResourceVersion,
      ageMs: reflector?.lastContactAt ? Date.now() - reflector.lastContactAt : -1,
    };
  }

  /** Cuts every backoff sleep short: the apiserver answers again. */
  wakeUp(): void {
    this.#wake.abort();
    this.#wake = new AbortController();
    for (const informer of this.#informers.values()) informer.reflector.wakeUp();
  }

  /**
   * Waits (bounded) until the cache holds `name` `namespace/name` at resourceVersion ≥ `rv`,
   * or, with `rv` undefined, until the object is absent or being deleted.
   */
  async waitForObject(name: CachedKindName, namespace: string | undefined, objectName: string, rv: string | undefined, timeoutMs = 5000): Promise<boolean> {
    const informer = this.#informers.get(name);
    if (!informer) return false;
    return informer.waitFor((store) => {
      const object = store.get(namespace, objectName);
      if (rv === undefined) return !object || Boolean(object.metadata.deletionTimestamp);
      return Boolean(object && resourceVersionAtLeast(object.metadata.resourceVersion, rv));
    }, timeoutMs);
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.discover(signal);
    if (signal.aborted) return;
    this.#signal = signal;
    for (const name of CACHED_KIND_NAMES) {
      const kind = this.#kinds.get(name);
      if (!kind) continue;
      this.#informers.set(name, this.newInformer(name, kind));
    }
    await Promise.all([...this.#informers.values()].map((informer) => informer.run(signal)));
    // Informers ensureInformer started meanwhile stop on the same signal; none outlives the cache.
    await Promise.all(this.#lateRuns);
  }

  private newInformer(name: CachedKindName, kind: ResourceKind): Informer {
    const informer = new Informer({ http: this.options.http, kind, logger: this.options.logger, minWatchTimeoutSeconds: this.options.minWatchTimeoutSeconds });
    const { cluster, events } = this.options;
    informer.on((event) => {
      this.#changes++;
      events.publish(cluster, name, event);
    });
    return informer;
  }

  /**
   * The informer of optional kind `name` (a CRD zcloud installs), started now if the cluster has
   * come to serve the kind since discovery. Re-discovers the kind every 200 ms until `waitMs`
   * has passed (an apiserver publishes a new CRD's resource shortly after establishing it), then
   * runs the informer under the cache's own signal and waits, within the same deadline, for its
   * first LIST. Resolves undefined if the kind is still not served, the informer has not synced
   * by then (it keeps running: a later call returns it), or the cache is not running.
   * Concurrent callers share one attempt. Discovery failures reject (KubeApiError/KubeConnectionError).
   */
  async ensureInformer<T extends KubeObject = KubeObject>(name: CachedKindName, waitMs = 10_000): Promise<Informer<T> | undefined> {
    const signal = this.#signal;
    if (!signal || signal.aborted) return undefined;
    const deadline = Date.now() + waitMs;
    const existing = this.#informers.get(name);
    if (existing) return (await this.untilSynced(existing, deadline, signal)) as Informer<T> | undefined;
    let starting = this.#starting.get(name);
    if (!starting) {
      starting = this.startLate(name, deadline, signal).finally(() => this.#starting.delete(name));
      this.#starting.set(name, starting);
    }
    return (await starting) as Informer<T> | undefined;
  }

  private async startLate(name: CachedKindName, deadline: number, signal: AbortSignal): Promise<Informer | undefined> {
    let kind = await this.pickServedVersion(CACHED_KINDS[name], signal);
    while (!kind && Date.now() < deadline && !signal.aborted) {
      await sleep(LATE_DISCOVERY_RETRY_MS, signal);
      kind = await this.pickServedVersion(CACHED_KINDS[name], signal);
    }
    if (!kind || signal.aborted) return undefined;
    this.#kinds.set(name, kind);
    const informer = this.newInformer(name, kind);
    this.#informers.set(name, informer);
    this.#lateRuns.push(informer.run(signal));
    this.options.logger.info('started the informer of a kind the cluster now serves', { kind: name });
    return this.untilSynced(informer, deadline, signal);
  }

  private async untilSynced(informer: Informer, deadline: number, signal: AbortSignal): Promise<Informer | undefined> {
    while (!informer.hasSynced && Date.now() < deadline && !signal.aborted) await sleep(SYNC_CHECK_MS, signal);
    return informer.hasSynced ? informer : undefined;
  }

  private async discover(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff();
    while (!signal.aborted) {
      try {
        for (const name of CACHED_KIND_NAMES) {
          const kind = await this.pickServedVersion(CACHED_KINDS[name], signal);
          if (kind) this.#kinds.set(name, kind);
          // An optional kind is absent until zcloud installs its CRD: not worth a warning.
          else if (!CACHED_KINDS[name].some((k: ResourceKind) => k.optional)) this.options.logger.warn('cluster serves no known version of a cached kind', { kind: name });
        }
        this.#discovered = true;
        return;
      } catch (err) {
        if (signal.aborted) return;
        const delay = backoff.next();
        this.options.logger.warn('API discovery failed, retrying', {
          server: this.options.http.server.host,
          error: (err as Error).message,
          retryInMs: Math.round(delay),
        });
        await sleep(delay, signal, this.#wake.signal);
      }
    }
  }

  /** The first candidate whose group/version lists the resource. */
  private async pickServedVersion(candidates: readonly ResourceKind[], signal: AbortSignal): Promise<ResourceKind | undefined> {
    for (const candidate of candidates) {
      const path = candidate.group ? `/apis/${candidate.group}/${candidate.version}` : `/api/${candidate.version}`;
      try {
        const list = await this.options.http.request<{ resources: Array<{ name: string }> }>('GET', path, { signal, timeoutMs: 10_000 });
        if (list.resources.some((r) => r.name === candidate.resource)) return candidate;
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) continue;
        throw err;
      }
    }
    return undefined;
  }
}
