import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';

/** URL prefixes that belong to zcloud itself: never answered with the console's index.html. */
const SERVER_PREFIXES = ['/apis/', '/osp/', '/web/', '/healthz', '/readyz'];

/**
 * A built web console (ZCLOUD_UI_DIR) served at `/` on zcloud's own origin, so its session
 * cookie and API calls need no CORS. Fingerprinted assets (`/static/...`, as a React build
 * names them) are cached for a year; index.html is revalidated every time, so a new build is
 * picked up at once. A GET of any other unknown path gets index.html: the console routes in
 * the browser. API paths are never rewritten, so their 404s stay API errors.
 */
export function staticUi(dir: string): express.Router {
  const router = express.Router();
  const index = path.join(dir, 'index.html');
  router.use(
    express.static(dir, {
      index: 'index.html',
      setHeaders: (res, file) => {
        const immutable = file.includes(`${path.sep}static${path.sep}`);
        res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  router.use((req: Request, res: Response, next: NextFunction) => {
    const isPage = (req.method === 'GET' || req.method === 'HEAD') && !SERVER_PREFIXES.some((p) => req.path.startsWith(p));
    if (!isPage) return next();
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index, (err) => {
      // No index.html in the directory: the app's 404 answers instead.
      if (err && !res.headersSent) next();
    });
  });
  return router;
}
