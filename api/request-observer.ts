import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../src/logger.js';
import type { ZcloudMetrics } from '../src/metrics.js';
import type { ResourceRegistry } from './framework/registry.js';
import { requestUserOf } from './framework/request-user.js';
import { routeTemplate } from './metrics-endpoint.js';

const COUNTED_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']);

/**
 * What is recorded of every HTTP request, whichever path answers it (Express, or the direct
 * object GETs of direct-gets.ts): the request counter and duration by route template, method
 * and status, and one flat log line (method, path, action, status, time, user: never bodies,
 * query values or headers). Call it when the request arrives; the rest happens on `finish`.
 */
export function requestObserver(metrics: ZcloudMetrics, registry: ResourceRegistry, logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    const url = req.url ?? '';
    res.once('finish', () => {
      const query = url.indexOf('?');
      const pathname = query < 0 ? url : url.slice(0, query);
      // Methods outside the standard few would each make a series: fold them.
      const method = COUNTED_METHODS.has(req.method ?? '') ? req.method! : 'OTHER';
      const seconds = (performance.now() - started) / 1000;
      const labels = { route: routeTemplate(registry, pathname), method, status: String(res.statusCode) };
      metrics.httpRequestDuration.observe(labels, seconds);
      metrics.httpRequests.inc(labels);
      if (!logger.isInfoEnabled()) return;
      const line: Record<string, unknown> = { method: req.method, path: pathname };
      const action = query < 0 ? null : new URLSearchParams(url.slice(query + 1)).get('action');
      if (action !== null) line.action = action;
      line.status = res.statusCode;
      line.durationMs = Math.round(seconds * 1_000_000) / 1000;
      line.user = requestUserOf(res);
      logger.info('request', line);
    });
  };
}
