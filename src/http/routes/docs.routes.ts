/**
 * GET /openapi.json and the page at /docs that renders it (Scalar's standalone build, served from
 * its package: hospital networks and these machines have no internet, so nothing is fetched from
 * a CDN, no fonts, no proxy, no telemetry).
 */
import { join } from 'node:path';
import { Router } from 'express';

export interface ApiDocs {
  /** The OpenAPI document, built once at start. */
  readonly document: object;
  /** The directory holding Scalar's `standalone.js`. */
  readonly rendererDir: string;
}

/**
 * Only what the page needs, from this origin: its two scripts, and the inline styles the renderer
 * sets on elements (it has no stylesheet file); `connect-src 'self'` lets it fetch the document
 * and nothing else, which also keeps any "try it" request on this gateway.
 */
const DOCS_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Continuum API</title>
  </head>
  <body>
    <div id="app"></div>
    <script src="/docs/standalone.js"></script>
    <script src="/docs/config.js"></script>
  </body>
</html>
`;

const CONFIG_SCRIPT = `Scalar.createApiReference('#app', {
  url: '/openapi.json',
  withDefaultFonts: false,
  telemetry: false,
  hideClientButton: true,
  hideTestRequestButton: true,
  showDeveloperTools: 'never',
  agent: { disabled: true },
  mcp: { disabled: true },
  documentDownloadType: 'json',
  defaultOpenAllTags: true,
});
`;

export function docsRoutes(docs: ApiDocs): Router {
  const router = Router();
  const documentText = JSON.stringify(docs.document);
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(documentText);
  });
  router.get('/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', DOCS_POLICY);
    res.type('html').send(PAGE);
  });
  router.get('/docs/config.js', (_req, res) => {
    res.type('text/javascript').send(CONFIG_SCRIPT);
  });
  router.get('/docs/standalone.js', (_req, res, next) => {
    res.sendFile(join(docs.rendererDir, 'standalone.js'), { maxAge: '1h' }, (error?: Error) => {
      if (error !== undefined) next(error);
    });
  });
  return router;
}
