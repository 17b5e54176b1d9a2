import { setMaxListeners } from 'node:events';
import type { Logger } from './logger.js';

/**
 * Something that runs for as long as zcloud does: the HTTP server, the cluster caches, a
 * controller's workers, a periodic job.
 */
export interface Runnable {
  /** For logs and errors. */
  readonly name: string;
  /**
   * Runs until `signal` aborts, then finishes or aborts its in-flight work and resolves. A
   * rejection is a failure of the whole process: the manager stops everything else.
   */
  start(signal: AbortSignal): Promise<void>;
}

/**
 * Runnables start in this order and stop in the reverse one, each phase only after the later
 * phases have stopped: no more requests, then controllers drain (their reconciles still see
 * live caches and a writable store), then informers stop, then the store is flushed and closed.
 */
export const PHASES = ['store', 'caches', 'controllers', 'server'] as const;
export type Phase = (typeof PHASES)[number];

export interface ManagerOptions {
  logger: Logger;
  /** How long one phase may take to stop before the manager moves on without it. Default 15 s. */
  phaseStopTimeoutMs?: number;
}

interface PhaseGroup {
  runnables: Runnable[];
  abort: AbortController;
  running: Promise<void>[];
}

/**
 * Owns the lifecycle of every Runnable (after controller-runtime's manager): `start` starts
 * them phase by phase, `stop` stops them in reverse phase order with a bound per phase, and the
 * first runnable to fail stops the rest. `done` settles when everything has stopped.
 */
export class Manager {
  readonly #logger: Logger;
  readonly #phaseStopTimeoutMs: number;
  readonly #groups = new Map<Phase, PhaseGroup>(PHASES.map((phase) => [phase, newGroup()]));
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopping: Promise<void> | undefined;
  #failure: unknown;
  readonly #done: Promise<void>;
  #settle!: () => void;

  constructor(options: ManagerOptions) {
    this.#logger = options.logger;
    this.#phaseStopTimeoutMs = options.phaseStopTimeoutMs ?? 15_000;
    this.#done = new Promise<void>((resolve) => (this.#settle = resolve));
  }

  /** Adds a runnable; one added while running starts at once (unless its phase is stopping). */
  add(phase: Phase, runnable: Runnable): void {
    const group = this.#groups.get(phase)!;
    group.runnables.push(runnable);
    if (this.#state === 'running') this.run(group, runnable);
  }

  /** Started and not stopping: what /readyz reports. */
  get ready(): boolean {
    return this.#state === 'running';
  }

  /** Starts every runnable, phase by phase (each phase's start calls are made in order). */
  start(): void {
    if (this.#state !== 'new') throw new Error(`manager cannot start: it is ${this.#state}`);
    this.#state = 'running';
    for (const phase of PHASES) {
      const group = this.#groups.get(phase)!;
      for (const runnable of group.runnables) this.run(group, runnable);
    }
  }

  /** Resolves when every runnable has stopped; rejects with the first runnable failure, if any. */
  async done(): Promise<void> {
    await this.#done;
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Stops everything in reverse phase order; idempotent, and safe before `start`. */
  stop(): Promise<void> {
    this.#stopping ??= this.stopPhases();
    return this.#stopping;
  }

  private run(group: PhaseGroup, runnable: Runnable): void {
    const running = Promise.resolve()
      .then(() => runnable.start(group.abort.signal))
      .then(
        () => {
          if (!group.abort.signal.aborted) this.#logger.warn('runnable returned before it was stopped', { runnable: runnable.name });
        },
        (err: unknown) => {
          this.#logger.error('runnable failed: stopping zcloud', { runnable: runnable.name, error: String((err as Error)?.stack ?? err) });
          this.#failure ??= new Error(`${runnable.name} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
          void this.stop();
        },
      );
    group.running.push(running);
  }

  private async stopPhases(): Promise<void> {
    this.#state = 'stopping';
    for (const phase of [...PHASES].reverse()) {
      const group = this.#groups.get(phase)!;
      group.abort.abort();
      const stopped = Promise.all(group.running).then(() => 'stopped' as const);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.#phaseStopTimeoutMs)));
      const outcome = await Promise.race([stopped, late]);
      clearTimeout(timer);
      if (outcome === 'late') this.#logger.error('phase did not stop in time; going on without it', { phase, timeoutMs: this.#phaseStopTimeoutMs });
    }
    this.#state = 'stopped';
    this.#settle();
  }
}

function newGroup(): PhaseGroup {
  const abort = new AbortController();
  // Every reconcile and request of a phase listens on its one signal.
  setMaxListeners(0, abort.signal);
  return { runnables: [], abort, running: [] };
}

/** Resolves when `signal` aborts (at once if it has). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}
