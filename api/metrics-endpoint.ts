import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { ForbiddenError, UnauthorizedError } from '../src/errors.js';
import type { ZcloudMetrics } from '../src/metrics.js';
import { writeError } from './framework/answers.js';
import { authenticateBearer, type TokenAuthenticator } from './framework/authn.js';
import type { ResourceRegistry } from './framework/registry.js';
import { API_PREFIX } from './framework/router.js';
import { OSP_PREFIX, OSP_ROUTES } from './osp.js';
import type { ApiServices } from './services.js';

/** The route label of requests no route template matches (probes of random paths, typos). */
export const UNMATCHED_ROUTE = 'unmatched';

/** Paths served as they are (no ids in them). */
const FIXED_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/docs', `${API_PREFIX}/openapi.json`, `${OSP_PREFIX}/openapi.json`]);

/** `/pods/:cluster` matches `/pods/c1`: a `:param` segment stands for any one non-empty segment. */
function matchesExpressPath(template: string, segments: readonly string[]): boolean {
  const parts = template.split('/').filter(Boolean);
  return parts.length === segments.length && parts.every((part, i) => part.startsWith(':') || part === segments[i]);
}

/**
 * The route template of a request path, for the `route` label: `/apis/zcloud.cn/v1/clusters/{cluster_id}`,
 * `/osp/api/pods/:cluster`, a fixed path, `/docs/*` for the reference page's files, or `unmatched`.
 * Never a raw path, so 1,000 object names make no new series.
 */
export function routeTemplate(registry: ResourceRegistry, pathname: string): string {
  if (FIXED_ROUTES.has(pathname)) return pathname;
  if (pathname.startsWith('/docs/')) return '/docs/*';
  if (pathname.startsWith(`${API_PREFIX}/`)) {
    let segments: string[];
    try {
      segments = pathname.slice(API_PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      return UNMATCHED_ROUTE; // malformed percent-encoding: the router answers 4xx, the label stays bounded
    }
    const template = registry.templateOf(segments);
    return template ? API_PREFIX + template : UNMATCHED_ROUTE;
  }
  if (pathname.startsWith(`${OSP_PREFIX}/`)) {
    const segments = pathname.slice(OSP_PREFIX.length).split('/').filter(Boolean);
    const route = OSP_ROUTES.find((r) => matchesExpressPath(r.path, segments));
    return route ? OSP_PREFIX + route.path : UNMATCHED_ROUTE;
  }
  return UNMATCHED_ROUTE;
}

/** Who may read /metrics. */
export type MetricsAccess =
  /** The API port: the configured token, or an admin's bearer token. */
  | { kind: 'token-or-admin'; token: string | undefined; users: TokenAuthenticator }
  /** A separate port: the configured token if any, else anyone who reaches the port. */
  | { kind: 'own-port'; token: string | undefined };

function bearerOf(header: string | undefined): string | undefined {
  return header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function checkAccess(req: Request, access: MetricsAccess): Promise<void> {
  const header = req.get('authorization');
  const given = bearerOf(header);
  if (access.token !== undefined && given !== undefined && sameSecret(given, access.token)) return;
  if (access.kind === 'own-port') {
    if (access.token === undefined) return;
    throw new UnauthorizedError('the metrics token is required');
  }
  const user = await authenticateBearer(header, access.users);
  if (!user.isAdmin) throw new ForbiddenError('only an admin or the metrics token may read metrics');
}

/** GET /metrics: the Prometheus exposition of `metrics`, for callers `access` admits. */
export function metricsHandler(metrics: ZcloudMetrics, access: MetricsAccess, services: Pick<ApiServices, 'logger'>) {
  return async (req: Request, res: Response): Promise<void> => {
    try {
      await checkAccess(req, access);
      const { contentType, body } = await metrics.scrape();
      res.setHeader('Content-Type', contentType);
      res.end(body);
    } catch (err) {
      writeError(res, err, 'zcloud', { logger: services.logger, what: 'metrics scrape failed', path: req.path });
    }
  };
}
