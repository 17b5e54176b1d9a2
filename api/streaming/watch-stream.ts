import { holdsNamespace } from '../../src/auth/authorizer.js';
import { InputError, UnauthorizedError } from '../../src/errors.js';
import type { KubeObject } from '../../src/kube/kube-object.js';
import { CACHED_KINDS } from '../../src/kube/resource-kind.js';
import type { Change, ChangeJournal, ChangeType } from '../../src/streaming/change-journal.js';
import type { Principal } from '../../src/users.js';
import type { ResourceRegistry } from '../framework/registry.js';
import type { RequestContext } from '../framework/resource.js';
import { API_PREFIX } from '../framework/router.js';
import { applyFilters, authorize, guard, resolve, shape, type ResolvedPath } from '../framework/request-steps.js';
import type { ApiServices } from '../services.js';
import type { StreamEndpoint } from './gateway.js';
import { CLOSE_CODES } from './stream-socket.js';

/**
 * One frame of a resumable watch. `cursor` is where a reconnect resumes (`since=`): after the
 * change it carries. `SYNCED` ends the initial list (or the replay) and carries the cursor of
 * the watch's start; `expired` says the cursor given can no longer be resumed from: list again
 * and watch without `since`.
 */
export type WatchFrame =
  | { type: ChangeType; cursor: string | null; object: Record<string, unknown> }
  | { type: 'SYNCED'; cursor: string }
  | { type: 'expired'; cursor: null; message: string };

function watchContext(services: ApiServices, user: Principal, path: ResolvedPath, query: Readonly<Record<string, string>>): RequestContext {
  return {
    user,
    parents: Object.fromEntries(path.ancestry.map((s) => [s.kind, s.id])),
    query,
    services,
    sourceAddress: '',
    setHeader: () => undefined,
    header: () => undefined,
    requireUser: () => {
      if (!user) throw new UnauthorizedError('authentication required');
      return user;
    },
  };
}

/**
 * `/watch?url=<collection URL>&since=<cursor>`: the items of a zcloud.cn collection as they
 * change, in the REST shape, each with the cursor to resume after it. Without `since`, the
 * current items come first (ADDED, then SYNCED); with it, exactly the changes after that
 * cursor (then SYNCED), or an `expired` frame and close code 4010 when they are no longer
 * known. Authorized as a GET of the collection; the collection's `?field=value` filters apply.
 */
export function watchStream(registry: ResourceRegistry, services: ApiServices, journal: ChangeJournal): StreamEndpoint {
  return {
    path: '/watch',
    async open({ user, query, origin }) {
      const target = new URL(query.get('url') ?? '', `${origin}/`);
      if (!query.get('url') || !target.pathname.startsWith(`${API_PREFIX}/`)) throw new InputError(`must be a collection URL under ${API_PREFIX}`, 'url');
      const since = query.get('since') ?? undefined;
      const resolution = resolve(registry, { method: 'GET', path: target.pathname.slice(API_PREFIX.length), action: undefined, baseUrl: `${origin}${API_PREFIX}` });
      const { path } = resolution;
      if ('refusal' in resolution) throw resolution.refusal;
      const { operation } = resolution;
      const source = path.entry.def.watch;
      const cluster = path.ancestry.find((s) => s.kind === 'cluster')?.id;
      const outside = path.ancestry.filter((s) => s.kind !== 'cluster' && s.kind !== 'namespace');
      if (operation.verb !== 'list' || !source || cluster === undefined || outside.length > 0) {
        throw new InputError(`${target.pathname} is not a collection zcloud can watch`, 'url');
      }
      const decision = authorize(user, path, operation);
      const filters = Object.fromEntries(target.searchParams);
      const ctx = watchContext(services, user, path, filters);
      await guard(registry, ctx, path, operation, decision);
      const { store } = services.clusters.availableStore(cluster, source.kind);
      const namespace = ctx.parents.namespace;
      const namespaced = CACHED_KINDS[source.kind][0].namespaced;
      const inScope = (object: KubeObject): boolean => {
        const ns = object.metadata.namespace ?? '';
        if (!namespaced) return true;
        if (namespace !== undefined) return ns === namespace;
        return user.isAdmin || holdsNamespace(user, cluster, ns);
      };
      const restShape = (object: KubeObject): Record<string, unknown> | undefined => {
        const item = source.toApi(object, ctx);
        if (applyFilters([item], filters).length === 0 || (decision.visible && !decision.visible(item))) return undefined;
        return shape(path, { kind: 'object', status: 200, object: item }).body as Record<string, unknown>;
      };
      const frameOf = (change: Change): WatchFrame | undefined => {
        if (!inScope(change.object)) return undefined;
        const object = restShape(change.object);
        return object && { type: change.type, cursor: journal.cursorOf(change.seq), object };
      };

      return (socket) => {
        // Listening, then reading the snapshot or the replay, in one turn: no change falls between.
        const stop = journal.listen(cluster, source.kind, (change) => {
          const frame = frameOf(change);
          if (frame) socket.send(frame);
        });
        socket.onClose(stop);
        const head = journal.head();
        if (since === undefined) {
          for (const object of store.list()) {
            const shaped = inScope(object) ? restShape(object) : undefined;
            if (shaped) socket.send({ type: 'ADDED', cursor: null, object: shaped } satisfies WatchFrame);
          }
        } else {
          const replay = journal.since(cluster, source.kind, since);
          if (replay.expired) {
            socket.send({ type: 'expired', cursor: null, message: `${replay.reason}: list again, then watch without since` } satisfies WatchFrame);
            return socket.close(CLOSE_CODES.expired, 'cursor expired');
          }
          for (const change of replay.changes) {
            const frame = frameOf(change);
            if (frame) socket.send(frame);
          }
        }
        socket.send({ type: 'SYNCED', cursor: head } satisfies WatchFrame);
      };
    },
  };
}
