import { sleep } from '../../../src/backoff.js';
import { retryBackoff } from './config.js';
import { ApiError, type KubeClient } from './kube-client.js';
import type { List, ObjectMeta, Status, WatchEvent } from './kube-types.js';

/** Where a reflector delivers what it sees. Called synchronously, in order; must not throw. */
export interface ReflectorHandlers<T> {
  /** A fresh list: the complete set of objects, replacing everything seen before. */
  replace(items: T[]): void;
  upsert(object: T): void;
  remove(object: T): void;
}

/** Server-side watch timeout range; randomised so that many watchers do not reconnect in step. */
const minWatchSeconds = 240;
const maxWatchSeconds = 300;
/** How long past its own timeout a watch may stay silent before we count it as lost. */
const silenceMarginMs = 30_000;

/**
 * Keeps `handlers` in step with the collection at `path` (e.g. "/api/v1/pods?fieldSelector=...")
 * until `signal` aborts: lists, then watches from the list's resourceVersion with bookmarks.
 * A watch ended by the server is resumed from the last resourceVersion seen; a 410 (expired)
 * lists again; any other failure (apiserver restarting, connection refused) is retried with
 * backoff, for ever. Resolves only when `signal` aborts.
 */
export async function runReflector<T extends { metadata: ObjectMeta }>(
  client: KubeClient,
  path: string,
  handlers: ReflectorHandlers<T>,
  signal: AbortSignal,
  log: (message: string) => void,
): Promise<void> {
  const backoff = retryBackoff();
  const separator = path.includes('?') ? '&' : '?';
  let resourceVersion = '';
  while (!signal.aborted) {
    try {
      if (!resourceVersion) {
        const list = await client.get<List<T>>(path);
        handlers.replace(list.items);
        resourceVersion = list.metadata.resourceVersion;
        backoff.reset();
      }
      const timeoutSeconds = minWatchSeconds + Math.floor(Math.random() * (maxWatchSeconds - minWatchSeconds));
      const watchPath = `${path}${separator}watch=true&allowWatchBookmarks=true&timeoutSeconds=${timeoutSeconds}&resourceVersion=${resourceVersion}`;
      let expired = false;
      let events = 0;
      const watchStarted = Date.now();
      await client.watch<T | Status>(
        watchPath,
        timeoutSeconds * 1000 + silenceMarginMs,
        (event: WatchEvent<T | Status>) => {
          events++;
          if (event.type === 'ERROR') {
            const status = event.object as Status;
            if (status.code === 410) expired = true;
            else log(`watch ${path}: error event: ${status.message ?? JSON.stringify(status)}`);
            return;
          }
          const object = event.object as T;
          resourceVersion = object.metadata.resourceVersion ?? resourceVersion;
          backoff.reset();
          if (event.type === 'ADDED' || event.type === 'MODIFIED') handlers.upsert(object);
          else if (event.type === 'DELETED') handlers.remove(object);
        },
        signal,
      );
      if (expired) resourceVersion = '';
      // A watch the server ends at once with nothing in it would otherwise spin.
      else if (events === 0 && Date.now() - watchStarted < 1_000) await sleep(backoff.next(), signal);
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof ApiError && err.code === 410) {
        resourceVersion = '';
        continue;
      }
      const delay = backoff.next();
      log(`list/watch ${path} failed, retrying in ${Math.round(delay)} ms: ${(err as Error).message}`);
      await sleep(delay, signal);
    }
  }
}
