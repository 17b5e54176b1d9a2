import { setMaxListeners } from 'node:events';
import { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { ClusterUnavailableError, ConflictError, InputError, NotFoundError } from '../errors.js';
import { ClusterCache } from '../kube/cluster-cache.js';
import { ClusterClient } from '../kube/cluster-client.js';
import { KubeHttp } from '../kube/kube-http.js';
import type { KubeObject } from '../kube/kube-object.js';
import { ObjectEvents, type ClusterObjectHandler } from '../kube/object-events.js';
import type { ObjectReader } from '../kube/object-store.js';
import type { CachedKindName } from '../kube/resource-kind.js';
import type { Logger } from '../logger.js';
import { untilAborted, type Runnable } from '../manager.js';
import type { ClusterSample, InformerSample } from '../metrics.js';
import { defineCollection, type Store, type StoreCollection } from '../store/store.js';
import type { UserService } from '../users.js';
import { ProvisionedClusterSpecSchema, type ProvisionedClusterSpec } from './provisioning-spec.js';

export const ClusterNameSchema = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label: lower-case letters, digits and "-", at most 63');

/** The phase of a provisioned cluster's run; `Running` clusters have a runtime like imported ones. */
export const provisioningPhases = ['Creating', 'Running', 'CreateFailed'] as const;
export type ProvisioningPhase = (typeof provisioningPhases)[number];

const ImportedSource = z.object({ kind: z.literal('kubeconfig'), kubeconfig: z.string().min(1) });
/** A cluster zcloud provisions over SSH: its desired spec and where its run stands. Its credentials live in the PKI store. */
const ProvisionedSource = z.object({
  kind: z.literal('ssh'),
  spec: ProvisionedClusterSpecSchema,
  phase: z.enum(provisioningPhases),
  message: z.string().default(''),
});

export const ClusterRecordSchema = z.object({
  name: ClusterNameSchema,
  /** How zcloud reaches the cluster: an imported kubeconfig, or a cluster it provisions. Records of older data files are all `kubeconfig`. */
  source: z.discriminatedUnion('kind', [ImportedSource, ProvisionedSource]),
  creationTimestamp: z.iso.datetime(),
});
export type ClusterRecord = z.infer<typeof ClusterRecordSchema>;
export const clustersCollection = defineCollection('clusters', ClusterRecordSchema);

export type ClusterState = 'Connecting' | 'Running' | 'Unreachable' | 'Deleting';

export interface ClusterHealth {
  /** undefined until the first probe answers or fails for good */
  reachable: boolean | undefined;
  consecutiveFailures: number;
  version?: string;
  lastProbeAt?: string;
  lastError?: string;
}

/** A registered cluster while zcloud runs: its connection, cache and health. */
export class ClusterRuntime {
  readonly health: ClusterHealth = { reachable: undefined, consecutiveFailures: 0 };
  readonly client: ClusterClient;
  deleting = false;
  #stopped = false;
  readonly #abort = new AbortController();
  #done: Promise<void> = Promise.resolve();

  constructor(
    readonly record: ClusterRecord,
    readonly http: KubeHttp,
    readonly cache: ClusterCache,
  ) {
    // Every reflector and request of the cluster listens on this one signal.
    setMaxListeners(0, this.#abort.signal);
    this.client = new ClusterClient(record.name, http, cache);
  }

  get name(): string {
    return this.record.name;
  }

  get state(): ClusterState {
    if (this.deleting) return 'Deleting';
    if (this.health.reachable === false) return 'Unreachable';
    if (this.health.reachable && this.cache.settled) return 'Running';
    return 'Connecting';
  }

  /**
   * Whether the cluster may be written to and its cache read (kind by kind: see
   * `ClusterCache.kindAvailability`). False once stopped: a stopped runtime is not "missing",
   * so nothing mistakes zcloud's own shutdown for the cluster being unregistered.
   */
  get available(): boolean {
    return !this.#stopped && this.state === 'Running';
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  start(logger: Logger): void {
    this.#done = this.cache.run(this.#abort.signal).catch((err: unknown) => {
      logger.error('cluster cache stopped unexpectedly', { cluster: this.name, error: (err as Error).message });
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    await this.#done;
    this.http.close();
  }
}

export interface ClusterManagerOptions {
  store: Store;
  users: UserService;
  logger: Logger;
  /** Passed to every reflector; tests shorten it. */
  minWatchTimeoutSeconds?: number;
  /** The admin kubeconfig of a provisioned cluster (built from its PKI); required once one runs. */
  provisionedKubeconfig?: (name: string, spec: ProvisionedClusterSpec) => Promise<string>;
  /** Makes the next provisioning run of a cluster start from its first step (a new journal generation). */
  restartProvisioning?: (name: string) => Promise<void>;
  /** The spec as stored: secrets it carries (registry passwords) sealed. Default: as given. */
  sealSpec?: (name: string, spec: ProvisionedClusterSpec, previous?: ProvisionedClusterSpec) => ProvisionedClusterSpec;
  /** Removes what zcloud put on a provisioned cluster's hosts; its failure keeps the record. */
  deprovision?: (name: string, spec: ProvisionedClusterSpec) => Promise<void>;
}

export type ClusterListener = (event: 'attached' | 'detached', name: string) => void;
export type { ClusterObjectHandler };

/** Parses and checks an imported kubeconfig: YAML, a current context, a server URL. */
export function parseKubeconfig(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromString(yaml);
  } catch (err) {
    throw new InputError(`is not a valid kubeconfig: ${(err as Error).message}`, 'kubeconfig');
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new InputError('has no current context with a cluster server', 'kubeconfig');
  try {
    new URL(cluster.server);
  } catch {
    throw new InputError(`server ${cluster.server} is not a URL`, 'kubeconfig');
  }
  return kc;
}

/**
 * Registered clusters: stored records plus a runtime (connection, informer cache, health) for
 * each. Attaching never waits for the cluster to answer, so start-up never blocks on one.
 * As a Runnable it attaches every stored cluster, and stops their informers when its signal
 * aborts (the manager does that after the controllers have drained).
 */
export class ClusterManager implements Runnable {
  readonly name = 'clusters';
  readonly #records: StoreCollection<ClusterRecord>;
  readonly #runtimes = new Map<string, ClusterRuntime>();
  readonly #listeners = new Set<ClusterListener>();
  readonly #events: ObjectEvents;
  /** Provisioned clusters whose run has not completed (Creating, CreateFailed): records without a runtime. */
  readonly #provisioning = new Map<string, ClusterRecord>();
  #onProvisioningRequested: (name: string) => void = () => undefined;
  #markLoaded: () => void = () => undefined;
  /** The cancel switch of each provisioning run in progress. */
  readonly #runs = new Map<string, AbortController>();
  /** Settles once `start` has read the stored records (controllers' initial keys wait for it). */
  readonly loaded = new Promise<void>((resolve) => (this.#markLoaded = resolve));

  constructor(private readonly options: ClusterManagerOptions) {
    this.#records = options.store.collection(clustersCollection);
    this.#events = new ObjectEvents(options.logger);
  }

  on(listener: ClusterListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Calls `handler` for every change of `kind` objects in every cluster, registered now or
   * later; returns the unsubscribe. Handlers run on the watch path: enqueue keys, return at once.
   */
  onObjectEvent(kind: CachedKindName, handler: ClusterObjectHandler): () => void {
    return this.#events.subscribe(kind, handler);
  }

  /** Attaches every stored cluster, then runs until `signal` aborts and stops every runtime. */
  async start(signal: AbortSignal): Promise<void> {
    if (!signal.aborted) {
      for (const record of await this.#records.list()) {
        if (record.source.kind === 'kubeconfig') this.attach(record, record.source.kubeconfig);
        else if (record.source.phase === 'Running') this.attach(record, await this.provisionedKubeconfig(record));
        else this.#provisioning.set(record.name, record);
      }
    }
    this.#markLoaded();
    await untilAborted(signal);
    // Runtimes stay listed (unavailable): a late reader sees "cluster stopping", not "no such cluster".
    await Promise.all([...this.#runtimes.values()].map((r) => r.stop()));
  }

  list(): ClusterRuntime[] {
    return [...this.#runtimes.values()];
  }

  /** Each registered cluster's state, for the metrics scrape. */
  *clusterSamples(): Iterable<ClusterSample> {
    for (const runtime of this.#runtimes.values()) yield { cluster: runtime.name, state: runtime.state };
  }

  /** Each informer of each registered cluster, read at the metrics scrape. */
  *informerSamples(): Iterable<InformerSample> {
    for (const runtime of this.#runtimes.values()) {
      for (const [kind, informer] of runtime.cache.informers()) {
        const { reflector } = informer;
        yield {
          cluster: runtime.name,
          kind,
          ...reflector.stats,
          objects: informer.store.size,
          synced: reflector.hasSynced,
          lastContactAt: reflector.lastContactAt,
        };
      }
    }
  }

  get(name: string): ClusterRuntime | undefined {
    return this.#runtimes.get(name);
  }

  require(name: string): ClusterRuntime {
    const runtime = this.#runtimes.get(name);
    const provisioning = this.#provisioning.get(name)?.source;
    if (!runtime && provisioning?.kind === 'ssh') throw new ClusterUnavailableError(`cluster ${name} is ${provisioning.phase}`);
    if (!runtime) throw new NotFoundError(`cluster ${name} not found`);
    return runtime;
  }

  /** The cluster, if its cache may serve reads now; else ClusterUnavailableError (503). */
  requireAvailable(name: string): ClusterRuntime {
    const runtime = this.require(name);
    if (!runtime.available) throw new ClusterUnavailableError(`cluster ${name} is ${runtime.state.toLowerCase()}`);
    return runtime;
  }

  /**
   * The cache of `kind` in cluster `name`, if it may serve reads now: 404 for an unknown
   * cluster, 503 for an unavailable one or for a kind whose informer is failing or not listed
   * yet (the message says which kind and why; other kinds are served meanwhile).
   */
  availableStore<T extends KubeObject = KubeObject>(name: string, kind: CachedKindName): { runtime: ClusterRuntime; store: ObjectReader<T> } {
    const runtime = this.requireAvailable(name);
    const availability = runtime.cache.kindAvailability(kind);
    if (!availability.available) throw new ClusterUnavailableError(`cluster ${name}: ${availability.reason}`);
    return { runtime, store: runtime.cache.informer<T>(kind)!.store };
  }

  async register(name: string, kubeconfig: string): Promise<ClusterRuntime> {
    parseKubeconfig(kubeconfig);
    if (this.#runtimes.has(name) || this.#provisioning.has(name) || (await this.#records.get(name))) throw new ConflictError(`cluster ${name} already exists`);
    const record = await this.#records.create(name, {
      name,
      source: { kind: 'kubeconfig', kubeconfig },
      creationTimestamp: new Date().toISOString(),
    });
    return this.attach(record, kubeconfig);
  }

  /** Where provisioning requests go (the provisioning controller's queue); set once at start-up. */
  onProvisioningRequested(trigger: (name: string) => void): void {
    this.#onProvisioningRequested = trigger;
  }

  /** Records a cluster to provision (`Creating`) and hands it to the provisioning controller. */
  async createProvisioned(name: string, spec: ProvisionedClusterSpec): Promise<ClusterRecord> {
    if (this.#runtimes.has(name) || this.#provisioning.has(name) || (await this.#records.get(name))) throw new ConflictError(`cluster ${name} already exists`);
    const stored = this.options.sealSpec?.(name, spec) ?? spec;
    const record = await this.#records.create(name, { name, source: { kind: 'ssh', spec: stored, phase: 'Creating', message: '' }, creationTimestamp: new Date().toISOString() });
    this.#provisioning.set(name, record);
    this.#onProvisioningRequested(name);
    return record;
  }

  /**
   * The signal a provisioning run of `name` must obey: aborted when zcloud stops (`parent`) or
   * when the run is cancelled through the API. Pair with `endProvisioningRun`.
   */
  beginProvisioningRun(name: string, parent: AbortSignal): AbortSignal {
    const cancel = new AbortController();
    this.#runs.set(name, cancel);
    return AbortSignal.any([parent, cancel.signal]);
  }

  endProvisioningRun(name: string): void {
    this.#runs.delete(name);
  }

  /** Stops a `Creating` cluster's run (it ends CreateFailed); 422 in any other state. */
  async cancelProvisioning(name: string): Promise<void> {
    const source = this.#provisioning.get(name)?.source;
    if (!source && !this.#runtimes.has(name)) throw new NotFoundError(`cluster ${name} not found`);
    if (source?.kind !== 'ssh' || source.phase !== 'Creating') {
      throw new InputError(`only a Creating cluster can be cancelled; ${name} is ${source?.kind === 'ssh' ? source.phase : this.#runtimes.get(name)!.state}`, 'status');
    }
    const run = this.#runs.get(name);
    if (run) run.abort();
    // Queued but not started: the run will find it CreateFailed and do nothing.
    else await this.finishProvisioning(name, { phase: 'CreateFailed', message: 'cancelled before it started' });
  }

  /**
   * Runs a `CreateFailed` cluster again with `spec` (say, with a corrected key), from its first
   * step. Its node list must stay as it was: the failed run may have left containers on those
   * hosts. 422 for any other state or a changed node list.
   */
  async rerunProvisioning(name: string, spec: ProvisionedClusterSpec): Promise<ClusterRecord> {
    const record = this.#provisioning.get(name);
    if (!record && !this.#runtimes.has(name)) throw new NotFoundError(`cluster ${name} not found`);
    if (record?.source.kind !== 'ssh' || record.source.phase !== 'CreateFailed') {
      throw new InputError(`only a CreateFailed cluster can be re-run; updates of other clusters are not available yet`, 'status');
    }
    const nodesOf = (s: ProvisionedClusterSpec) => JSON.stringify(s.nodes.map((n) => ({ name: n.name, address: n.address, roles: [...n.roles].sort() })));
    if (nodesOf(record.source.spec) !== nodesOf(spec)) throw new InputError('must stay as created when a failed cluster is re-run; delete the cluster and create it again to change nodes', 'nodes');
    await this.options.restartProvisioning?.(name);
    const stored = this.options.sealSpec?.(name, spec, record.source.spec) ?? spec;
    const updated = await this.#records.update(name, (current) => ({ ...current, source: { kind: 'ssh', spec: stored, phase: 'Creating', message: '' } }));
    this.#provisioning.set(name, updated);
    this.#onProvisioningRequested(name);
    return updated;
  }

  /** Provisioned clusters without a runtime yet (Creating, CreateFailed). */
  provisioningRecords(): ClusterRecord[] {
    return [...this.#provisioning.values()];
  }

  provisioningRecord(name: string): ClusterRecord | undefined {
    return this.#provisioning.get(name);
  }

  /** The stored record (any kind), e.g. for a provisioned cluster's spec. */
  record(name: string): Promise<ClusterRecord | undefined> {
    return this.#records.get(name);
  }

  /** Ends a provisioning run: `Running` attaches the cluster like an imported one, `CreateFailed` keeps the message. */
  async finishProvisioning(name: string, outcome: { phase: 'Running' } | { phase: 'CreateFailed'; message: string }): Promise<void> {
    const record = await this.#records.update(name, (current) =>
      current.source.kind === 'ssh' ? { ...current, source: { ...current.source, phase: outcome.phase, message: outcome.phase === 'CreateFailed' ? outcome.message : '' } } : current,
    );
    if (outcome.phase === 'Running') {
      const kubeconfig = await this.provisionedKubeconfig(record);
      this.#provisioning.delete(name);
      this.attach(record, kubeconfig);
    } else {
      this.#provisioning.set(name, record);
    }
    this.options.logger.info('cluster provisioning finished', { cluster: name, phase: outcome.phase });
  }

  async kubeconfigOf(name: string): Promise<string> {
    const record = await this.#records.get(name);
    if (!record) throw new NotFoundError(`cluster ${name} not found`);
    if (record.source.kind === 'kubeconfig') return record.source.kubeconfig;
    if (record.source.phase !== 'Running') throw new ConflictError(`cluster ${name} is ${record.source.phase}: it has no kubeconfig until it runs`);
    return this.provisionedKubeconfig(record);
  }

  private async deprovision(record: ClusterRecord): Promise<void> {
    if (record.source.kind !== 'ssh') return;
    if (!this.options.deprovision) throw new Error(`cluster ${record.name} is provisioned, but zcloud was started without provisioning`);
    try {
      await this.options.deprovision(record.name, record.source.spec);
    } catch (err) {
      throw new ConflictError(`cluster ${record.name} was not removed: ${(err as Error).message}`, { cause: err });
    }
  }

  private async provisionedKubeconfig(record: ClusterRecord): Promise<string> {
    if (record.source.kind !== 'ssh') throw new Error(`cluster ${record.name} is not provisioned`);
    if (!this.options.provisionedKubeconfig) throw new Error(`cluster ${record.name} is provisioned, but zcloud was started without provisioning`);
    return this.options.provisionedKubeconfig(record.name, record.source.spec);
  }

  /**
   * Stops the cluster's informers, drops its cache and record, and revokes projects on it. A
   * provisioned cluster's hosts are cleaned first (zcloud's containers and files); a host that
   * cannot be reached fails the removal (409) and keeps the record, so it can be repeated.
   */
  async remove(name: string): Promise<void> {
    const pending = this.#provisioning.get(name);
    if (pending) {
      await this.deprovision(pending);
      this.#provisioning.delete(name);
      await this.#records.delete(name);
      await this.options.users.revokeCluster(name);
      this.options.logger.info('cluster removed', { cluster: name });
      return;
    }
    const runtime = this.require(name);
    runtime.deleting = true;
    await runtime.stop();
    try {
      await this.deprovision(runtime.record);
    } catch (err) {
      // The cluster stays registered and attached again, as it was.
      this.#runtimes.delete(name);
      this.attach(runtime.record, await this.kubeconfigOf(name));
      throw err;
    }
    this.#runtimes.delete(name);
    await this.#records.delete(name);
    await this.options.users.revokeCluster(name);
    this.emit('detached', name);
    this.options.logger.info('cluster removed', { cluster: name });
  }

  private attach(record: ClusterRecord, kubeconfig: string): ClusterRuntime {
    const http = new KubeHttp(parseKubeconfig(kubeconfig));
    const logger = this.options.logger.child({ cluster: record.name });
    const cache = new ClusterCache({ cluster: record.name, http, logger, events: this.#events, minWatchTimeoutSeconds: this.options.minWatchTimeoutSeconds });
    const runtime = new ClusterRuntime(record, http, cache);
    this.#runtimes.set(record.name, runtime);
    runtime.start(logger);
    this.emit('attached', record.name);
    return runtime;
  }

  private emit(event: 'attached' | 'detached', name: string): void {
    for (const listener of this.#listeners) listener(event, name);
  }
}
