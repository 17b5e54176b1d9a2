import { clusterEventOf } from '../../src/streaming/cluster-events.js';
import { readCache } from '../cluster-access.js';
import { defineResource } from '../framework/resource.js';

/**
 * The events of a namespace, read-only, oldest first, in the shape the event socket sends
 * (`/apis/ws.zcloud.cn/v1/clusters/{c}/event`): what a client without a socket polls. The
 * socket's `type` (Normal, Warning) is `eventType` here: `type` names the resource kind.
 */
export const eventResource = defineResource({
  kind: 'event',
  parents: ['namespace'],
  list: async (ctx) =>
    readCache(ctx, 'events')
      .store.listNamespace(ctx.parents.namespace)
      .map((object) => {
        const { type: eventType, ...event } = clusterEventOf(object);
        return { id: object.metadata.name, ...event, eventType, creationTimestamp: object.metadata.creationTimestamp };
      })
      .sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id)),
});
