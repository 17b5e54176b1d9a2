import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus metric zcloud exports, in one registry per zcloud instance (tests run several
 * in one process, so nothing goes to prom-client's global registry). Parts are handed this object
 * and only observe; the exposition is prom-client's.
 *
 * Label cardinality is bounded by construction: routes are templates, never raw paths; clusters,
 * kinds and controllers are the registered ones; object names and keys never become labels.
 */

/** What the informer collectors read of one informer at scrape time. */
export interface InformerSample {
  cluster: string;
  kind: string;
  /** Completed LISTs (the first, and every relist). */
  lists: number;
  /** WATCH requests started (each resume after a watch ends or fails). */
  watches: number;
  /** LISTs caused by 410 Gone/Expired. */
  goneRelists: number;
  /** Failed LIST/WATCH attempts. */
  errors: number;
  /** Object events handed to handlers. */
  events: number;
  objects: number;
  synced: boolean;
  /** ms epoch of the apiserver's last word on this informer; 0: never. */
  lastContactAt: number;
}

/** What the cluster collectors read of one cluster at scrape time. */
export interface ClusterSample {
  cluster: string;
  state: string;
}

/** What the work-queue collectors read of one queue at scrape time. */
export interface QueueState {
  readonly length: number;
  /** ms epoch at which each key now being processed was handed to a worker. */
  processingSince(): Iterable<number>;
}

/** The states a cluster's state gauge reports (one series each, 1 for the current one). */
const CLUSTER_STATES = ['Connecting', 'Running', 'Updating', 'Canceling', 'Unreachable', 'Deleting'] as const;

/** Reconcile outcomes, as controller_runtime_reconcile_total's `result` label. */
export type ReconcileResult = 'success' | 'requeue' | 'error';

/** client-go's workqueue buckets: 10 µs … 10 s, ×10 each. */
const WORKQUEUE_BUCKETS = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];
/** Request and probe latencies: 5 ms … 10 s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Provisioning steps take seconds to many minutes (an OS install, a kubeadm init). */
const STEP_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 2400];

export class ZcloudMetrics {
  readonly registry = new Registry();

  readonly httpRequests = this.counter('zcloud_http_requests_total', 'HTTP requests answered, by route template, method and status.', [
    'route',
    'method',
    'status',
  ]);
  readonly httpRequestDuration = this.histogram(
    'zcloud_http_request_duration_seconds',
    'Time to answer an HTTP request, by route template, method and status.',
    ['route', 'method', 'status'],
    LATENCY_BUCKETS,
  );

  readonly reconcileTotal = this.counter('controller_runtime_reconcile_total', 'Reconciles per controller and result (success, requeue, error).', [
    'controller',
    'result',
  ]);
  readonly reconcileTime = this.histogram('controller_runtime_reconcile_time_seconds', 'Time of one reconcile per controller.', ['controller'], LATENCY_BUCKETS);

  readonly workqueueAdds = this.counter('workqueue_adds_total', 'Keys added to the work queue (merged adds included).', ['name']);
  readonly workqueueRetries = this.counter('workqueue_retries_total', 'Keys re-added after a failure (rate limited).', ['name']);
  readonly workqueueQueueDuration = this.histogram(
    'workqueue_queue_duration_seconds',
    'How long a key waits in the queue before a worker takes it.',
    ['name'],
    WORKQUEUE_BUCKETS,
  );
  readonly workqueueWorkDuration = this.histogram('workqueue_work_duration_seconds', 'How long processing one key takes.', ['name'], WORKQUEUE_BUCKETS);

  readonly healthProbeDuration = this.histogram(
    'zcloud_cluster_health_probe_duration_seconds',
    'Latency of the GET /version health probe per cluster, by outcome (ok, error).',
    ['cluster', 'outcome'],
    LATENCY_BUCKETS,
  );

  /** Observed by each provisioning run (controllers/cluster-provisioning.ts). */
  readonly provisioningStepDuration = this.histogram(
    'zcloud_provisioning_step_duration_seconds',
    'Duration of one cluster provisioning step, by step and outcome (ok, error).',
    ['step', 'outcome'],
    STEP_BUCKETS,
  );

  /** Defined before websockets exist: later endpoints only inc/dec it by their route template. */
  readonly websocketConnections = new Gauge({
    name: 'zcloud_websocket_connections',
    help: 'Open websocket connections, by endpoint (route template). Zero until websockets are built.',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });

  readonly #queues = new Map<string, QueueState>();
  #informers: () => Iterable<InformerSample> = () => [];
  #clusters: () => Iterable<ClusterSample> = () => [];

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.defineQueueGauges();
    this.defineInformerMetrics();
    this.defineClusterMetrics();
  }

  /** Where the informer collectors read from at scrape time (the cluster manager). */
  observeInformers(source: () => Iterable<InformerSample>): void {
    this.#informers = source;
  }

  observeClusters(source: () => Iterable<ClusterSample>): void {
    this.#clusters = source;
  }

  /** The hooks a work queue named `name` calls; its depth and in-flight work are read from `state`. */
  workQueue(name: string, state: QueueState): WorkQueueMetrics {
    this.#queues.set(name, state);
    return new WorkQueueMetrics(this, name);
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** The exposition, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private defineQueueGauges(): void {
    const queues = this.#queues;
    const perQueue = (value: (state: QueueState, now: number) => number) =>
      function (this: Gauge<'name'>): void {
        const now = Date.now();
        for (const [name, state] of queues) this.set({ name }, value(state, now));
      };
    new Gauge({
      name: 'workqueue_depth',
      help: 'Keys waiting in the queue.',
      labelNames: ['name'] as const,
      registers: [this.registry],
      collect: perQueue((state) => state.length),
    });
    new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: 'Seconds of work in progress not yet observed by work_duration; large values suggest stuck workers.',
      labelNames: ['name'] as const,
      registers: [this.registry],
      collect: perQueue((state, now) => sum(state.processingSince(), (since) => (now - since) / 1000)),
    });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'Seconds the longest-running key of the queue has been processed.',
      labelNames: ['name'] as const,
      registers: [this.registry],
      collect: perQueue((state, now) => Math.max(0, ...[...state.processingSince()].map((since) => (now - since) / 1000))),
    });
  }

  private defineInformerMetrics(): void {
    const informers = (): Iterable<InformerSample> => this.#informers();
    // Counters mirror the reflectors' own tallies: rebuilt at each scrape, so a removed cluster's
    // series disappear with it instead of lingering forever.
    const counter = (name: string, help: string, value: (s: InformerSample) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['cluster', 'kind'] as const,
        registers: [this.registry],
        collect(this: Counter<'cluster' | 'kind'>) {
          this.reset();
          for (const s of informers()) this.inc({ cluster: s.cluster, kind: s.kind }, value(s));
        },
      });
    };
    const gauge = (name: string, help: string, value: (s: InformerSample, now: number) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['cluster', 'kind'] as const,
        registers: [this.registry],
        collect(this: Gauge<'cluster' | 'kind'>) {
          this.reset();
          const now = Date.now();
          for (const s of informers()) this.set({ cluster: s.cluster, kind: s.kind }, value(s, now));
        },
      });
    };
    counter('zcloud_informer_lists_total', 'Completed LISTs per informer (the first and every relist).', (s) => s.lists);
    counter('zcloud_informer_watches_total', 'WATCHes started per informer (each restart after a watch ends or fails).', (s) => s.watches);
    counter('zcloud_informer_relists_after_gone_total', 'Relists caused by 410 Gone (resourceVersion expired).', (s) => s.goneRelists);
    counter('zcloud_informer_errors_total', 'Failed LIST/WATCH attempts per informer.', (s) => s.errors);
    counter('zcloud_informer_events_total', 'Object events (add, update, delete) handled per informer.', (s) => s.events);
    gauge('zcloud_informer_objects', 'Objects in the informer cache.', (s) => s.objects);
    gauge('zcloud_informer_synced', '1 once the informer completed its first LIST, else 0.', (s) => (s.synced ? 1 : 0));
    gauge('zcloud_informer_last_event_age_seconds', 'Seconds since the apiserver last told the informer anything (-1: never).', (s, now) =>
      s.lastContactAt > 0 ? (now - s.lastContactAt) / 1000 : -1,
    );
  }

  private defineClusterMetrics(): void {
    const clusters = (): Iterable<ClusterSample> => this.#clusters();
    new Gauge({
      name: 'zcloud_cluster_state',
      help: `1 for the state each registered cluster is in (${CLUSTER_STATES.join(', ')}), 0 for the others.`,
      labelNames: ['cluster', 'state'] as const,
      registers: [this.registry],
      collect(this: Gauge<'cluster' | 'state'>) {
        this.reset();
        for (const c of clusters()) for (const state of CLUSTER_STATES) this.set({ cluster: c.cluster, state }, c.state === state ? 1 : 0);
      },
    });
  }
}

/** What one work queue reports as it runs; the gauges read the queue itself at scrape time. */
export class WorkQueueMetrics {
  constructor(
    private readonly metrics: ZcloudMetrics,
    readonly name: string,
  ) {}

  added(): void {
    this.metrics.workqueueAdds.inc({ name: this.name });
  }

  retried(): void {
    this.metrics.workqueueRetries.inc({ name: this.name });
  }

  waited(ms: number): void {
    this.metrics.workqueueQueueDuration.observe({ name: this.name }, ms / 1000);
  }

  worked(ms: number): void {
    this.metrics.workqueueWorkDuration.observe({ name: this.name }, ms / 1000);
  }
}

function sum<T>(items: Iterable<T>, value: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += value(item);
  return total;
}
