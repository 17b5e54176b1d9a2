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
import { nodeChanges } from './node-changes.js';
import { ProvisionedClusterSpecSchema, ProvisionedNodeSchema, type ProvisionedClusterSpec, type ProvisionedNode } from './provisioning-spec.js';

export const ClusterNameSchema = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label: lower-case letters, digits and "-", at most 63');

/**
 * The phase of a provisioned cluster's run. `Running` and `Updating` clusters have a runtime like
 * imported ones (an update keeps serving); `Deleting` ones wait for their hosts to be cleaned.
 */
export const provisioningPhases = ['Creating', 'Running', 'CreateFailed', 'Updating', 'Deleting'] as const;
export type ProvisioningPhase = (typeof provisioningPhases)[number];

const ImportedSource = z.object({ kind: z.literal('kubeconfig'), kubeconfig: z.string().min(1) });
/** The cluster zcloud runs in, reached with its pod's service account; nothing secret is stored. */
const InClusterSource = z.object({ kind: z.literal('in-cluster') });
/** A cluster zcloud provisions over SSH: its desired spec and where its run stands. Its credentials live in the PKI store. */
const ProvisionedSource = z.object({
  kind: z.literal('ssh'),
  spec: ProvisionedClusterSpecSchema,
  phase: z.enum(provisioningPhases),
  message: z.string().default(''),
  /** Nodes an update took out of the spec whose hosts may still hold zcloud's containers and files; emptied as each is cleaned. */
  removedNodes: z.array(ProvisionedNodeSchema).default([]),
  /** A cancel was asked of the run in progress (shown as `Canceling`); the run's end clears it. Durable: a restart ends the run instead of resuming it. */
  canceling: z.boolean().default(false),
});

export const ClusterRecordSchema = z.object({
  name: ClusterNameSchema,
  /** How zcloud reaches the cluster: an imported kubeconfig, its own pod's service account, or a cluster it provisions. Records of older data files are all `kubeconfig`. */
  source: z.discriminatedUnion('kind', [ImportedSource, InClusterSource, ProvisionedSource]),
  creationTimestamp: z.iso.datetime(),
});
export type ClusterRecord = z.infer<typeof ClusterRecordSchema>;
export const clustersCollection = defineCollection('clusters', ClusterRecordSchema);

export type ClusterState = 'Connecting' | 'Running' | 'Updating' | 'Canceling' | 'Unreachable' | 'Deleting';

/** The status a provisioned record shows: `Canceling` while a cancelled run stops, else its phase. */
export const provisionedStatus = (source: { phase: ProvisioningPhase; canceling: boolean }): ProvisioningPhase | 'Canceling' => (source.canceling ? 'Canceling' : source.phase);

type ProvisionedRecord = ClusterRecord & { source: { kind: 'ssh' } };
const isProvisioned = (record: ClusterRecord | undefined): record is ProvisionedRecord => record?.source.kind === 'ssh';

export interface ClusterHealth {
  /** undefined until the first probe answers or fails for good */
  reachable: boolean | undefined;
  consecutiveFailures: number;
  version?: string;
  /** When the last probe was sent: on its cluster's phase of the interval (untilNextProbe), however long the answer takes. */
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
    /** The stored record; replaced when an update changes a provisioned cluster's spec or phase. */
    public record: ClusterRecord,
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
    if (this.record.source.kind === 'ssh' && this.record.source.phase === 'Updating') return this.record.source.canceling ? 'Canceling' : 'Updating';
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
    if (this.#stopped || this.deleting || this.health.reachable !== true || !this.cache.settled) return false;
    // An update adds or removes nodes while the cluster keeps serving, and while it is cancelled.
    return this.state === 'Running' || this.state === 'Updating' || this.state === 'Canceling';
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
  /** The cluster zcloud runs in (in-cluster mode): registered under `name` at start unless a cluster of that name exists. */
  homeCluster?: HomeCluster;
}

/** The cluster zcloud runs in: how zcloud reaches it, and the kubeconfig (file references only) child processes get. */
export interface HomeCluster {
  name: string;
  kubeConfig: KubeConfig;
  kubeconfigFile: string;
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
  /** Provisioned clusters without a runtime: their create has not completed (Creating, CreateFailed), or they are Deleting. */
  readonly #provisioning = new Map<string, ClusterRecord>();
  #onProvisioningRequested: (name: string) => void = () => undefined;
  #markLoaded: () => void = () => undefined;
  /** The cancel switch of each provisioning run in progress. */
  readonly #runs = new Map<string, AbortController>();
  /** Names this process is registering: their store events are its own, not another replica's. */
  readonly #registering = new Set<string>();
  /** Store events handled one at a time, in order. */
  #syncing: Promise<void> = Promise.resolve();
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
      await this.registerHomeCluster();
      for (const record of await this.#records.list()) {
        if (record.source.kind === 'kubeconfig') this.attach(record, parseKubeconfig(record.source.kubeconfig));
        else if (record.source.kind === 'in-cluster') this.attachHomeCluster(record);
        else if (record.source.phase === 'Running' || record.source.phase === 'Updating') this.attach(record, parseKubeconfig(await this.provisionedKubeconfig(record)));
        else this.#provisioning.set(record.name, record);
      }
    }
    this.#markLoaded();
    // Another replica on a shared store imports, removes or provisions clusters: follow it (a no-op on the file store).
    const unwatch = this.options.store.watch?.(clustersCollection, (name) => {
      this.#syncing = this.#syncing.then(() => this.followStore(name)).catch((err: unknown) => {
        this.options.logger.warn('cluster change from the store not followed', { cluster: name, error: (err as Error).message });
      });
    });
    await untilAborted(signal);
    unwatch?.();
    await this.#syncing;
    // Runtimes stay listed (unavailable): a late reader sees "cluster stopping", not "no such cluster".
    await Promise.all([...this.#runtimes.values()].map((r) => r.stop()));
  }

  /** Stores the home cluster's record (once: a later start, or another replica, finds it). */
  private async registerHomeCluster(): Promise<void> {
    const home = this.options.homeCluster;
    if (!home) return;
    const existing = await this.#records.get(home.name);
    if (existing) {
      if (existing.source.kind !== 'in-cluster') this.options.logger.warn('home cluster not registered: a cluster of its name exists', { cluster: home.name });
      return;
    }
    try {
      await this.#records.create(home.name, { name: home.name, source: { kind: 'in-cluster' }, creationTimestamp: new Date().toISOString() });
      this.options.logger.info('home cluster registered', { cluster: home.name });
    } catch (err) {
      // Another replica registered it first: the record is there either way.
      if (!(err instanceof ConflictError)) throw err;
    }
  }

  private attachHomeCluster(record: ClusterRecord): void {
    const home = this.options.homeCluster;
    if (home?.name === record.name) this.attach(record, home.kubeConfig);
    // Registered by an earlier start in a pod; this process has no service account to reach it with.
    else this.options.logger.warn('in-cluster cluster not attached: zcloud is not running in a cluster now (or ZCLOUD_HOME_CLUSTER is off)', { cluster: record.name });
  }

  /**
   * Makes this replica's view of `name` what the store holds, whoever wrote it (another
   * replica, or this one: every step is idempotent, and the record is read when the event is
   * handled, so the newest state wins). An imported or home cluster is attached once stored and
   * detached once gone. A provisioned one shows its stored phase; once Running (or Updating)
   * its cache is attached, and detached when it turns Deleting or is gone. Runs happen on the
   * leader only; this just follows their records.
   */
  private async followStore(name: string): Promise<void> {
    if (this.#registering.has(name)) return;
    const record = await this.#records.get(name);
    const runtime = this.#runtimes.get(name);
    if (!record) {
      this.#provisioning.delete(name);
      if (runtime && (await this.#detach(name))) this.options.logger.info('cluster removed by another replica detached', { cluster: name });
      return;
    }
    if (record.source.kind !== 'ssh') {
      if (runtime || this.#registering.has(name)) return;
      if (record.source.kind === 'kubeconfig') this.attach(record, parseKubeconfig(record.source.kubeconfig));
      else this.attachHomeCluster(record);
      this.options.logger.info('cluster registered by another replica attached', { cluster: name });
      return;
    }
    const known = this.provisioned(name)?.source;
    const serving = record.source.phase === 'Running' || record.source.phase === 'Updating';
    if (serving && runtime) {
      runtime.record = record;
    } else if (serving) {
      const kubeconfig = await this.provisionedKubeconfig(record);
      // The record may have moved on while the kubeconfig was built: its own event follows.
      if (this.#runtimes.has(name)) return;
      this.#provisioning.delete(name);
      this.attach(record, parseKubeconfig(kubeconfig));
      this.options.logger.info('provisioned cluster running: attached', { cluster: name });
    } else {
      this.#provisioning.set(name, record);
      if (runtime && (await this.#detach(name))) this.options.logger.info('provisioned cluster deleting: detached', { cluster: name });
    }
    // A cancel or delete asked through another replica stops the run here (on the leader).
    if (record.source.canceling || record.source.phase === 'Deleting') this.#runs.get(name)?.abort();
    // A run asked through another replica (create, PUT, DELETE) reaches the provisioning
    // controller (it acts on the leader). Only on a change of phase: a message the run records
    // must not requeue it past its backoff.
    if (known?.phase !== record.source.phase || known.canceling !== record.source.canceling) this.#onProvisioningRequested(name);
  }

  /** Stops and forgets the runtime of `name`, once (false when there is none, or another caller is at it). */
  async #detach(name: string): Promise<boolean> {
    const runtime = this.#runtimes.get(name);
    if (!runtime || runtime.deleting) return false;
    runtime.deleting = true;
    await runtime.stop();
    this.#runtimes.delete(name);
    this.emit('detached', name);
    return true;
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
    this.#registering.add(name);
    try {
      const record = await this.#records.create(name, {
        name,
        source: { kind: 'kubeconfig', kubeconfig },
        creationTimestamp: new Date().toISOString(),
      });
      return this.attach(record, parseKubeconfig(kubeconfig));
    } finally {
      this.#registering.delete(name);
    }
  }

  /** Where provisioning requests go (the provisioning controller's queue); set once at start-up. */
  onProvisioningRequested(trigger: (name: string) => void): void {
    this.#onProvisioningRequested = trigger;
  }

  /** Records a cluster to provision (`Creating`) and hands it to the provisioning controller. */
  async createProvisioned(name: string, spec: ProvisionedClusterSpec): Promise<ClusterRecord> {
    if (this.#runtimes.has(name) || this.#provisioning.has(name) || (await this.#records.get(name))) throw new ConflictError(`cluster ${name} already exists`);
    const stored = this.options.sealSpec?.(name, spec) ?? spec;
    const record = await this.#records.create(name, { name, source: { kind: 'ssh', spec: stored, phase: 'Creating', message: '', removedNodes: [], canceling: false }, creationTimestamp: new Date().toISOString() });
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

  /**
   * Stops the run of a `Creating` cluster (it ends CreateFailed) or an `Updating` one (it ends
   * Running, the update unfinished until the next PUT); 422 in any other state.
   */
  async cancelProvisioning(name: string): Promise<ProvisioningPhase | 'Canceling'> {
    const record = this.provisioned(name);
    if (!record && !this.#runtimes.has(name)) throw new NotFoundError(`cluster ${name} not found`);
    const phase = record?.source.phase;
    if ((phase !== 'Creating' && phase !== 'Updating') || record?.source.canceling) {
      const shown = record ? provisionedStatus(record.source) : undefined;
      throw new InputError(`only a Creating or Updating cluster can be cancelled; ${name} is ${this.#runtimes.get(name)?.state ?? shown}`, 'status');
    }
    const run = this.#runs.get(name);
    // On a shared store the run may be another replica's (the leader's): the recorded cancel
    // reaches it, or, not started yet, the provisioning controller ends it (see followStore).
    if (run || this.options.store.watch) {
      // Recorded before the abort, so the run's end (which clears it) always comes after.
      const canceling = await this.#records.update(name, (current) => (current.source.kind === 'ssh' && current.source.phase === phase ? { ...current, source: { ...current.source, canceling: true } } : current));
      this.#setRecord(canceling);
      if (run) run.abort();
      else this.#onProvisioningRequested(name);
      return canceling.source.kind === 'ssh' ? provisionedStatus(canceling.source) : phase;
    }
    // Queued but not started: the run will find the phase changed and do nothing.
    if (phase === 'Creating') await this.finishProvisioning(name, { phase: 'CreateFailed', message: 'cancelled before it started' });
    else await this.finishUpdate(name, 'update cancelled before it started; PUT the cluster again to finish it');
    return phase === 'Creating' ? 'CreateFailed' : 'Running';
  }

  /**
   * A PUT of a provisioned cluster: a `CreateFailed` one runs again from its first step with
   * `spec` (say, a corrected key), its node list unchanged (the failed run may have left
   * containers on those hosts); a `Running` one is updated to the node list of `spec` (see
   * `nodeChanges`), or, when nothing changes and its last update finished, refused as before.
   * 422 naming the field for a change that is not allowed, or in any other state.
   */
  async reviseProvisioned(name: string, spec: ProvisionedClusterSpec): Promise<ClusterRecord> {
    const record = this.provisioned(name);
    if (!record && !this.#runtimes.has(name)) throw new NotFoundError(`cluster ${name} not found`);
    if (record?.source.phase === 'CreateFailed') return this.rerunProvisioning(record, spec);
    if (record?.source.phase === 'Running') {
      const changes = nodeChanges(record.source.spec, spec);
      const issue = changes.issues[0];
      if (issue) throw new InputError(issue.message, issue.path.join('.'));
      const unfinished = record.source.message !== '' || record.source.removedNodes.length > 0;
      if (changes.added.length || changes.removed.length || unfinished) return this.beginUpdate(record, spec, changes.removed);
    }
    throw new InputError(`only a CreateFailed cluster can be re-run, or a Running one's node list changed; ${name} is ${this.#runtimes.get(name)?.state ?? record?.source.phase}`, 'status');
  }

  private async rerunProvisioning(record: ProvisionedRecord, spec: ProvisionedClusterSpec): Promise<ClusterRecord> {
    const nodesOf = (s: ProvisionedClusterSpec) => JSON.stringify(s.nodes.map((n) => ({ name: n.name, address: n.address, roles: [...n.roles].sort() })));
    if (nodesOf(record.source.spec) !== nodesOf(spec)) throw new InputError('must stay as created when a failed cluster is re-run; delete the cluster and create it again to change nodes', 'nodes');
    await this.options.restartProvisioning?.(record.name);
    const stored = this.options.sealSpec?.(record.name, spec, record.source.spec) ?? spec;
    const updated = await this.#records.update(record.name, (current) => ({ ...current, source: { kind: 'ssh', spec: stored, phase: 'Creating', message: '', removedNodes: [], canceling: false } }));
    this.#provisioning.set(record.name, updated);
    this.#onProvisioningRequested(record.name);
    return updated;
  }

  /**
   * Runs every step of a `Running` provisioned cluster again (`Updating`, a new journal
   * generation) with its spec unchanged: what changed in its PKI (renewed certificates) reaches
   * the hosts, and containers reading a changed file are recreated. A cluster in any other state
   * is left alone (false): a run in flight, or none to make.
   */
  async refreshProvisioned(name: string): Promise<boolean> {
    const record = this.provisioned(name);
    if (record?.source.phase !== 'Running') return false;
    await this.beginUpdate(record, record.source.spec, []);
    return true;
  }

  /** Records the update (`Updating`, a new journal generation) before handing it to the provisioning controller. */
  private async beginUpdate(record: ProvisionedRecord, spec: ProvisionedClusterSpec, removed: ProvisionedNode[]): Promise<ClusterRecord> {
    await this.options.restartProvisioning?.(record.name);
    const wanted = new Set(spec.nodes.map((n) => n.name));
    // Nodes a cancelled update did not finish removing stay pending, unless asked back.
    const pending = [...record.source.removedNodes.filter((n) => !wanted.has(n.name) && !removed.some((r) => r.name === n.name)), ...removed];
    const updated = await this.#records.update(record.name, (current) => ({ ...current, source: { kind: 'ssh', spec, phase: 'Updating', message: '', removedNodes: pending, canceling: false } }));
    this.#setRecord(updated);
    this.options.logger.info('cluster update requested', { cluster: record.name, nodes: spec.nodes.map((n) => n.name), removing: pending.map((n) => n.name) });
    this.#onProvisioningRequested(record.name);
    return updated;
  }

  /** Ends an update: `Running`, with `message` saying why it did not finish (empty when it did). */
  async finishUpdate(name: string, message = ''): Promise<void> {
    const updated = await this.#records.update(name, (current) =>
      current.source.kind === 'ssh' && current.source.phase === 'Updating' ? { ...current, source: { ...current.source, phase: 'Running', message, canceling: false } } : current,
    );
    this.#setRecord(updated);
    this.options.logger.info('cluster update finished', { cluster: name, ...(message ? { message } : {}) });
  }

  /** A node an update removed is off its host: it is no longer pending. */
  async nodeRemoved(name: string, node: string): Promise<void> {
    const updated = await this.#records.update(name, (current) =>
      current.source.kind === 'ssh' ? { ...current, source: { ...current.source, removedNodes: current.source.removedNodes.filter((n) => n.name !== node) } } : current,
    );
    this.#setRecord(updated);
  }

  /** Puts a changed record where readers find it: the runtime of an attached cluster, else the pending ones. */
  #setRecord(record: ClusterRecord): void {
    const runtime = this.#runtimes.get(record.name);
    if (runtime) runtime.record = record;
    else if (this.#provisioning.has(record.name)) this.#provisioning.set(record.name, record);
  }

  /** A provisioned cluster's record in any phase (attached or not); undefined for unknown or imported clusters. */
  provisioned(name: string): ProvisionedRecord | undefined {
    const record = this.#provisioning.get(name) ?? this.#runtimes.get(name)?.record;
    return isProvisioned(record) ? record : undefined;
  }

  /** Provisioned clusters with a run to make: Creating, Updating, Deleting (the provisioning controller's initial keys). */
  provisioningWork(): string[] {
    const records = [...this.#provisioning.values(), ...[...this.#runtimes.values()].map((r) => r.record)];
    return records.filter((r) => isProvisioned(r) && ['Creating', 'Updating', 'Deleting'].includes(r.source.phase)).map((r) => r.name);
  }

  /** Provisioned clusters without a runtime (Creating, CreateFailed, Deleting). */
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
      current.source.kind === 'ssh' && current.source.phase === 'Creating'
        ? { ...current, source: { ...current.source, phase: outcome.phase, message: outcome.phase === 'CreateFailed' ? outcome.message : '', canceling: false } }
        : current,
    );
    // A DELETE came first: the cluster is Deleting, and stays so.
    if (record.source.kind === 'ssh' && record.source.phase !== outcome.phase) return;
    if (outcome.phase === 'Running') {
      const kubeconfig = await this.provisionedKubeconfig(record);
      this.#provisioning.delete(name);
      // Following the store may have attached it meanwhile (its own write's event).
      if (!this.#runtimes.has(name)) this.attach(record, parseKubeconfig(kubeconfig));
    } else {
      this.#provisioning.set(name, record);
    }
    this.options.logger.info('cluster provisioning finished', { cluster: name, phase: outcome.phase });
  }

  async kubeconfigOf(name: string): Promise<string> {
    const record = await this.#records.get(name);
    if (!record) throw new NotFoundError(`cluster ${name} not found`);
    if (record.source.kind === 'kubeconfig') return record.source.kubeconfig;
    if (record.source.kind === 'in-cluster') {
      const home = this.options.homeCluster;
      if (home?.name !== name) throw new ClusterUnavailableError(`cluster ${name} is zcloud's home cluster, and zcloud does not run in it now`);
      return home.kubeconfigFile;
    }
    if (record.source.phase !== 'Running') throw new ConflictError(`cluster ${name} is ${record.source.phase}: it has no kubeconfig until it runs`);
    return this.provisionedKubeconfig(record);
  }

  private async provisionedKubeconfig(record: ClusterRecord): Promise<string> {
    if (record.source.kind !== 'ssh') throw new Error(`cluster ${record.name} is not provisioned`);
    if (!this.options.provisionedKubeconfig) throw new Error(`cluster ${record.name} is provisioned, but zcloud was started without provisioning`);
    return this.options.provisionedKubeconfig(record.name, record.source.spec);
  }

  /**
   * Removes a cluster. An imported one: its informers stop, its cache and record go, projects on
   * it are revoked, at once. A provisioned one turns `Deleting` (durably: a restart carries on),
   * its run (if any) is cancelled, and the provisioning controller cleans its hosts, then calls
   * `forgetDeleted`.
   */
  async remove(name: string): Promise<void> {
    const provisioned = this.provisioned(name);
    if (provisioned) {
      if (provisioned.source.phase === 'Deleting') return;
      const deleting = await this.#records.update(name, (current) => (current.source.kind === 'ssh' ? { ...current, source: { ...current.source, phase: 'Deleting', message: '', canceling: false } } : current));
      this.#runs.get(name)?.abort();
      await this.#detach(name);
      this.#provisioning.set(name, deleting);
      this.options.logger.info('cluster deletion requested', { cluster: name });
      this.#onProvisioningRequested(name);
      return;
    }
    const runtime = this.require(name);
    runtime.deleting = true;
    await runtime.stop();
    this.#runtimes.delete(name);
    await this.#records.delete(name);
    await this.options.users.revokeCluster(name);
    this.emit('detached', name);
    this.options.logger.info('cluster removed', { cluster: name });
  }

  /** Says why a `Deleting` cluster is not gone yet (a host unreachable, retried with backoff). */
  async deletionDelayed(name: string, message: string): Promise<void> {
    const updated = await this.#records.update(name, (current) => (current.source.kind === 'ssh' ? { ...current, source: { ...current.source, message } } : current));
    this.#setRecord(updated);
  }

  /** The hosts of a `Deleting` cluster are clean: its record goes and projects on it are revoked. */
  async forgetDeleted(name: string): Promise<void> {
    this.#provisioning.delete(name);
    await this.#records.delete(name);
    await this.options.users.revokeCluster(name);
    this.options.logger.info('cluster removed', { cluster: name });
  }

  private attach(record: ClusterRecord, kubeConfig: KubeConfig): ClusterRuntime {
    const http = new KubeHttp(kubeConfig);
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
