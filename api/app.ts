import type { RequestListener } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { NotFoundError } from '../src/errors.js';
import type { ZcloudMetrics } from '../src/metrics.js';
import { writeError } from './framework/answers.js';
import { ResourceRegistry } from './framework/registry.js';
import { API_PREFIX, createApiRouter, listCaches } from './framework/router.js';
import { createDocsRouter } from './docs-page.js';
import { createChartIconRouter } from './chart-icons.js';
import { CHART_ICON_PREFIX } from './resources/chart.js';
import { zcloudOpenApi } from './framework/openapi.js';
import { metricsHandler } from './metrics-endpoint.js';
import { requestObserver } from './request-observer.js';
import { directGets } from './framework/direct-gets.js';
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
 * The HTTP handler: cached objects' GETs answered directly (direct-gets.ts), everything else by
 * the Express app: request metrics and log, health probes, /metrics (unless on its own port),
 * the public API descriptions and /docs, the zcloud.cn and OSP APIs, the web session and
 * (optionally) a web console.
 */
export function createApp({ services, isReady, metrics, metricsOnOwnPort }: AppOptions): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Which proxies' X-Forwarded-For/-Proto/-Host are believed: client address (audit, login
  // throttle), scheme and host (links, Secure cookie, the session's same-origin check).
  app.set('trust proxy', services.config.trustedProxies.length > 0 ? services.config.trustedProxies : false);
  const registry = new ResourceRegistry(allResources);
  const observe = requestObserver(metrics, registry, services.logger);
  app.use((req: Request, res: Response, next: NextFunction) => {
    observe(req, res);
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
  const lists = listCaches(services.config.fragmentCacheMaxChars);
  app.use(API_PREFIX, createApiRouter({ registry, services }, lists));
  app.use(OSP_PREFIX, createOspRouter(services));
  app.use(WEB_PREFIX, createWebSessionRouter(services));
  if (services.config.uiDir) app.use(staticUi(services.config.uiDir));

  app.use((req: Request, res: Response) => {
    writeError(res, new NotFoundError(`no route for ${req.method} ${req.path}`), 'zcloud', { logger: services.logger, what: 'unhandled error', path: req.path });
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    writeError(res, err, 'zcloud', { logger: services.logger, what: 'unhandled error', path: req.path });
  });
  const direct = directGets({ registry, services }, lists, observe);
  return (req, res) => void (direct(req, res) || app(req, res));
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
