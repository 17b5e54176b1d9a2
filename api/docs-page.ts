import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Request, type Response } from 'express';
import { API_PREFIX } from './framework/router.js';
import { OSP_PREFIX } from './osp.js';

/**
 * The API reference page at /docs: Swagger UI, served from the swagger-ui-dist package's own
 * files (never a CDN, so it works offline and loads nothing from elsewhere), showing the two
 * OpenAPI documents. Reading it needs no token; trying a call out does.
 */

const swaggerUiDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The package's files the page loads; its own index.html and initializer point at a demo API. */
const RENDERER_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png', 'favicon-16x16.png']);

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>zcloud API reference</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/zcloud-docs.js"></script>
</body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise send the document to an online validator.
const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    urls: [
      { url: ${JSON.stringify(`${API_PREFIX}/openapi.json`)}, name: 'zcloud.cn/v1' },
      { url: ${JSON.stringify(`${OSP_PREFIX}/openapi.json`)}, name: 'OSP API' }
    ],
    dom_id: '#swagger-ui',
    deepLinking: true,
    // Tags start collapsed: listing every operation of the whole API at once is a page too long
    // to read, and Swagger UI stops rendering part of it (seen with ~200 operations).
    docExpansion: 'none',
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout'
  });
};
`;

/** Mounted at /docs. */
export function createDocsRouter(): express.Router {
  const router = express.Router();
  router.get('/', (_req: Request, res: Response) => void res.type('html').send(PAGE));
  router.get('/zcloud-docs.js', (_req: Request, res: Response) => void res.type('js').send(INITIALIZER));
  router.get('/:file', (req: Request, res: Response, next) => {
    const file = req.params.file as string;
    if (!RENDERER_FILES.has(file)) return next();
    res.sendFile(path.join(swaggerUiDir, file), { maxAge: '1h' });
  });
  return router;
}
