import express, { type NextFunction, type Request, type Response } from 'express';
import { NotFoundError } from '../src/errors.js';
import type { ZcloudMetrics } from '../src/metrics.js';
import { writeError } from './framework/answers.js';
import { fullPath } from './framework/audit-request.js';
import { ResourceRegistry } from './framework/registry.js';
import { API_PREFIX, createApiRouter } from './framework/router.js';
import { createDocsRouter } from './docs-page.js';
import { createChartIconRouter } from './chart-icons.js';
import { CHART_ICON_PREFIX } from './resources/chart.js';
import { zcloudOpenApi } from './framework/openapi.js';
import { httpMetrics, metricsHandler } from './metrics-endpoint.js';
import { ospOpenApi } from './osp-openapi.js';
import { createOspRouter, OSP_PREFIX } from './osp.js';
import { allResources } from './resources/index.js';
import type { ApiServices } from './services.js';
import { createWebSessionRouter, WEB_PREFIX } from './web/session.js';
import { staticUi } from './web/static-ui.js';

export interface AppOptions {
  services: ApiServices;
  /** Whether the store is loaded (and later: caches started); /readyz reports it. */
  isReady: () => boolean;
  metrics: ZcloudMetrics;
  /** /metrics is served by createMetricsApp on its own port (ZCLOUD_METRICS_PORT), not here. */
  metricsOnOwnPort: boolean;
}

/**
 * The Express app: request metrics and log, health probes, /metrics (unless on its own port),
 * the public API descriptions and /docs, the zcloud.cn and OSP APIs, the web session and
 * (optionally) a web console.
 */
export function createApp({ services, isReady, metrics, metricsOnOwnPort }: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Which proxies' X-Forwarded-For/-Proto/-Host are believed: client address (audit, login
  // throttle), scheme and host (links, Secure cookie, the session's same-origin check).
  app.set('trust proxy', services.config.trustedProxies.length > 0 ? services.config.trustedProxies : false);
  const registry = new ResourceRegistry(allResources);
  app.use(httpMetrics(metrics, registry));

  const { logger } = services;
  app.use((req: Request, res: Response, next: NextFunction) => {
    // On every request: nothing is built unless the line is written, and the line is flat.
    if (!logger.isInfoEnabled()) return next();
    const started = performance.now();
    res.once('finish', () => {
      // Method, path, status, time and user only: never bodies, query values or headers.
      const action = req.query.action;
      const line: Record<string, unknown> = { method: req.method, path: fullPath(req) };
      if (typeof action === 'string') line.action = action;
      line.status = res.statusCode;
      line.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
      line.user = typeof res.locals.user === 'string' ? res.locals.user : undefined;
      logger.info('request', line);
    });
    next();
  });

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) => {
    const ready = isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'starting' });
  });

  if (!metricsOnOwnPort) {
    const { metricsToken: token } = services.config;
    app.get('/metrics', metricsHandler(metrics, { kind: 'token-or-admin', token, users: services.users }, services));
  }
  // The API description and its reference page are public: they hold no data, only the shape.
  const zcloudDocument = zcloudOpenApi(registry, API_PREFIX);
  const ospDocument = ospOpenApi(OSP_PREFIX);
  app.get(`${API_PREFIX}/openapi.json`, (_req, res) => void res.json(zcloudDocument));
  app.get(`${OSP_PREFIX}/openapi.json`, (_req, res) => void res.json(ospDocument));
  app.use('/docs', createDocsRouter());
  app.use(CHART_ICON_PREFIX, createChartIconRouter(services.catalog, services));
  app.use(API_PREFIX, createApiRouter({ registry, services }));
  app.use(OSP_PREFIX, createOspRouter(services));
  app.use(WEB_PREFIX, createWebSessionRouter(services));
  if (services.config.uiDir) app.use(staticUi(services.config.uiDir));

  app.use((req: Request, res: Response) => {
    writeError(res, new NotFoundError(`no route for ${req.method} ${req.path}`), 'zcloud', { logger: services.logger, what: 'unhandled error', path: req.path });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    writeError(res, err, 'zcloud', { logger: services.logger, what: 'unhandled error', path: req.path });
  });
  return app;
}

/** The app of ZCLOUD_METRICS_PORT: /metrics only, guarded by ZCLOUD_METRICS_TOKEN when set. */
export function createMetricsApp(metrics: ZcloudMetrics, services: Pick<ApiServices, 'config' | 'logger'>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsHandler(metrics, { kind: 'own-port', token: services.config.metricsToken }, services));
  app.use((req: Request, res: Response) => {
    writeError(res, new NotFoundError(`no route for ${req.method} ${req.path}`), 'zcloud', { logger: services.logger, what: 'unhandled error', path: req.path });
  });
  return app;
}
