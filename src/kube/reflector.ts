import type { IncomingMessage } from 'node:http';
import { Backoff, sleep } from '../backoff.js';
import type { Logger } from '../logger.js';
import { KubeApiError, readAll, toKubeApiError, type KubeHttp } from './kube-http.js';
import { keyOf, stripForCache, type KubeObject } from './kube-object.js';
import type { ObjectStore, StoreEvent } from './object-store.js';
import { Compactor } from './compact.js';
import { apiVersionOf, collectionPath, COMPACTED_RESOURCES, type ResourceKind } from './resource-kind.js';

/** One for every cache of the process: imports of one cluster, and clusters alike, share their repeated values (compact.ts). */
const CACHE_COMPACTOR = new Compactor();

/** The apiserver no longer has the history we asked for (410 Gone / Expired): list again. */
export class GoneError extends Error {
  override readonly name = 'GoneError';
}

export interface ReflectorOptions<T extends KubeObject> {
  http: KubeHttp;
  kind: ResourceKind;
  store: ObjectStore<T>;
  /** Called synchronously after each store change; must return quickly. */
  onEvents: (events: StoreEvent<T>[]) => void;
  logger: Logger;
  /** LIST page size; default 500. */
  pageSize?: number;
  /**
   * Shortest server-side watch timeout in seconds; each watch picks a random value in
   * [min, 2·min) so a fleet of watches does not reconnect in lockstep. Default 300.
   */
  minWatchTimeoutSeconds?: number;
  /** Applied to the LIST and the WATCH alike (client-node applies it to the watch only). */
  labelSelector?: string;
  /** Only this namespace's objects (a namespaced kind); default: every namespace. */
  namespace?: string;
}

export type ReflectorState = 'starting' | 'watching' | 'failing';

export interface ReflectorStats {
  lists: number;
  watches: number;
  /** LISTs caused by a 410 Gone/Expired. */
  goneRelists: number;
  errors: number;
  /** Object changes handed to `onEvents` (a LIST's differences included). */
  events: number;
}

/**
 * Keeps an ObjectStore equal to one kind of object in one cluster: LIST (paginated), replace
 * the store in one step, then WATCH from the list's resourceVersion with bookmarks. A watch
 * that ends normally resumes from the last resourceVersion seen (no relist). 410 Gone relists
 * and replaces the store, deleting what vanished. Any other failure, or a stream silent past
 * its server timeout, backs off with jitter (1 s → 30 s) and retries. It never stops until
 * `signal` aborts.
 */
export class Reflector<T extends KubeObject> {
  hasSynced = false;
  lastSyncResourceVersion: string | undefined;
  state: ReflectorState = 'starting';
  lastError: string | undefined;
  /** When the apiserver last told us something (list, event, bookmark, watch start). */
  lastContactAt = 0;
  readonly stats: ReflectorStats = { lists: 0, watches: 0, goneRelists: 0, errors: 0, events: 0 };
  #wake = new AbortController();

  constructor(private readonly options: ReflectorOptions<T>) {}

  /** Cuts a backoff sleep short (the cluster is known to be back). */
  wakeUp(): void {
    this.#wake.abort();
    this.#wake = new AbortController();
  }

  async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff();
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.listAll(signal);
          needList = false;
        }
        await this.watch(signal);
        backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof GoneError) {
          needList = true;
          this.stats.goneRelists++;
          this.options.logger.info('resourceVersion expired, relisting', { kind: this.options.kind.resource });
          continue;
        }
        this.state = 'failing';
        this.stats.errors++;
        this.lastError = (err as Error).message;
        const delay = backoff.next();
        this.options.logger.warn('list/watch failed, retrying', {
          kind: this.options.kind.resource,
          server: this.options.http.server.host,
          error: this.lastError,
          retryInMs: Math.round(delay),
        });
        await sleep(delay, signal, this.#wake.signal);
      }
    }
  }

  private prepare(raw: KubeObject): T {
    const object = stripForCache(raw) as T;
    object.apiVersion ??= apiVersionOf(this.options.kind);
    object.kind ??= this.options.kind.kind;
    return COMPACTED_RESOURCES.has(this.options.kind.resource) ? CACHE_COMPACTOR.compact(object) : object;
  }

  private async listAll(signal: AbortSignal): Promise<void> {
    const { http, kind, pageSize = 500, labelSelector } = this.options;
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      let page: { items: KubeObject[]; metadata: { continue?: string; resourceVersion?: string } };
      try {
        page = await http.request('GET', collectionPath(kind, this.options.namespace), {
          query: { limit: pageSize, continue: continueToken, labelSelector },
          signal,
          timeoutMs: 60_000,
        });
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 410) throw new GoneError('list continue token expired', { cause: err });
        throw err;
      }
      for (const item of page.items ?? []) items.push(this.prepare(item));
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (continueToken);
    const events = this.options.store.replace(items);
    this.lastSyncResourceVersion = resourceVersion;
    this.hasSynced = true;
    this.stats.lists++;
    this.lastContactAt = Date.now();
    this.stats.events += events.length;
    if (events.length > 0) this.options.onEvents(events);
  }

  private async watch(signal: AbortSignal): Promise<void> {
    const { http, kind, minWatchTimeoutSeconds = 300, labelSelector } = this.options;
    const timeoutSeconds = minWatchTimeoutSeconds + Math.floor(Math.random() * minWatchTimeoutSeconds);
    const res = await http.open('GET', collectionPath(kind, this.options.namespace), {
      query: {
        watch: 1,
        resourceVersion: this.lastSyncResourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
        labelSelector,
      },
      signal,
    });
    if (res.statusCode !== 200) {
      const body = await readAll(res);
      if (res.statusCode === 410) throw new GoneError('watch resourceVersion expired');
      let parsed: unknown = body;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = body; // not a Status object: keep the text for the message
      }
      throw toKubeApiError(res.statusCode ?? 0, parsed, `watch ${kind.resource}`);
    }
    this.state = 'watching';
    this.lastError = undefined;
    this.stats.watches++;
    this.lastContactAt = Date.now();
    // The server ends the watch after timeoutSeconds; silence well past that means a dead
    // connection nobody told us about.
    await this.consume(res, (timeoutSeconds + 30) * 1000);
  }

  private consume(res: IncomingMessage, silenceLimitMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let buffer = '';
      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          res.destroy();
          reject(err);
        } else resolve();
      };
      const timer = setTimeout(() => finish(new Error(`watch silent for ${silenceLimitMs} ms`)), silenceLimitMs);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        // Restarts the silence limit without a new timer: thousands of watches get chunks all the time.
        timer.refresh();
        buffer += chunk;
        let newline: number;
        while (!settled && (newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (!line) continue;
          try {
            this.handleEvent(JSON.parse(line) as { type: string; object: KubeObject & { code?: number } });
          } catch (err) {
            finish(err as Error);
          }
        }
      });
      res.on('end', () => finish());
      res.on('error', (err) => finish(err));
      res.on('close', () => finish(new Error('watch connection closed')));
    });
  }

  private handleEvent(event: { type: string; object: KubeObject & { code?: number; message?: string; reason?: string } }): void {
    this.lastContactAt = Date.now();
    const { store, onEvents } = this.options;
    const rv = event.object?.metadata?.resourceVersion;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        this.stats.events++;
        onEvents([store.upsert(this.prepare(event.object))]);
        break;
      }
      case 'DELETED': {
        const removed = store.remove(keyOf(event.object));
        if (removed) {
          this.stats.events++;
          onEvents([{ type: 'deleted', object: this.prepare(event.object) }]);
        }
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        if (event.object.code === 410) throw new GoneError(event.object.message ?? 'resourceVersion expired');
        throw new KubeApiError(event.object.code ?? 500, event.object.reason ?? 'WatchError', event.object.message ?? 'watch error event');
      }
      default:
        throw new Error(`unknown watch event type ${event.type}`);
    }
    if (rv) this.lastSyncResourceVersion = rv;
  }
}
