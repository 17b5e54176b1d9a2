import type { ZcloudMetrics } from '../../src/metrics.js';
import type { ProvisioningLog } from '../../src/provisioning/provisioning-log.js';
import { ChangeJournal } from '../../src/streaming/change-journal.js';
import { ClusterEventFeed } from '../../src/streaming/cluster-events.js';
import { ResourceRegistry } from '../framework/registry.js';
import { allResources } from '../resources/index.js';
import type { ApiServices } from '../services.js';
import { clusterShellStream, containerLogStream, podShellStream } from './container-streams.js';
import { eventStream } from './event-stream.js';
import { StreamGateway } from './gateway.js';
import { watchStream } from './watch-stream.js';
import { zkelogStream } from './zkelog-stream.js';

/** Every stream is pinged this often; one that missed the previous pong is dropped. */
const PING_INTERVAL_MS = 30_000;
/** Recent events kept per cluster: a new event socket's backlog. */
const EVENT_BACKLOG = 500;

export interface StreamOptions {
  services: ApiServices;
  metrics: ZcloudMetrics;
  provisioningLog: ProvisioningLog;
}

/** The websocket endpoints under /apis/ws.zcloud.cn/v1 and the feeds they read, wired once. */
export function createStreamGateway({ services, metrics, provisioningLog }: StreamOptions): StreamGateway {
  const { clusters, config } = services;
  const feed = new ClusterEventFeed((handler) => clusters.onObjectEvent('events', handler), EVENT_BACKLOG);
  const journal = new ChangeJournal((kind, handler) => clusters.onObjectEvent(kind, handler), config.watchHistory);
  // What was kept of a removed cluster goes with it (a watch of it gets `expired` from then on).
  clusters.on((event, name) => {
    if (event !== 'detached') return;
    feed.forget(name);
    journal.forget(name);
  });
  const shellOptions = { logger: services.logger, idleLimitMs: config.shellIdleLimitMs, kubectlImage: config.kubectlImage };
  return new StreamGateway({
    endpoints: [
      eventStream(clusters, feed),
      zkelogStream(clusters, provisioningLog),
      watchStream(new ResourceRegistry(allResources), services, journal),
      containerLogStream(clusters, services.logger),
      podShellStream(clusters, shellOptions),
      clusterShellStream(clusters, shellOptions),
    ],
    users: services.users,
    logger: services.logger,
    metrics,
    publicOrigin: config.publicUrl && new URL(config.publicUrl).origin,
    trustForwarded: config.trustedProxies.length > 0,
    socket: { maxBufferedBytes: config.streamMaxBufferBytes, pingIntervalMs: PING_INTERVAL_MS },
  });
}
