import express, { type Request, type Response } from 'express';
import { NotFoundError } from '../src/errors.js';
import type { ChartCatalog } from '../src/apps/chart-catalog.js';
import { writeError } from './framework/answers.js';
import type { ApiServices } from './services.js';

/** GET /<name>: the chart's icon file. Public: icons hold no data, and <img> sends no token. */
export function createChartIconRouter(catalog: ChartCatalog, services: Pick<ApiServices, 'logger'>): express.Router {
  const router = express.Router();
  router.get('/:name', (req: Request, res: Response) => {
    const file = catalog.get(String(req.params.name))?.iconFile;
    if (!file) return writeError(res, new NotFoundError(`chart ${req.params.name} has no icon`), 'zcloud', { logger: services.logger, what: 'chart icon', path: req.path });
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.sendFile(file);
  });
  return router;
}
