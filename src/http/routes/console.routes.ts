/**
 * GET /console: the operator console and the mapping workbench, static files read once at start. The page is public
 * and holds nothing of anyone's; everything it shows it fetches from the API with the key the user
 * types in. Its content policy lets it run its own script and style and call this origin only:
 * no inline script, no other host, no form that could post the key anywhere.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router, type Response } from 'express';

const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILES = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  // What both pages' scripts import: the key, the DOM helpers, the API call.
  '/console-kit.js': { file: 'console-kit.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
  // Named by the page, so the browser does not ask for /favicon.ico (which would need a key).
  '/icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
  // The mapping workbench: same sign-in (the key in this tab's session storage), same policy.
  '/mappings': { file: 'mappings.html', type: 'text/html; charset=utf-8' },
  '/mappings.js': { file: 'mappings.js', type: 'text/javascript; charset=utf-8' },
  '/mappings.css': { file: 'mappings.css', type: 'text/css; charset=utf-8' },
} as const;

export function consoleRoutes(dir: string): Router {
  const router = Router();
  for (const [path, { file, type }] of Object.entries(FILES)) {
    // Read at start: a missing file stops the gateway there, not at the first visit.
    const body = readFileSync(join(dir, file));
    router.get(path, (_req, res: Response) => {
      res.setHeader('Content-Security-Policy', CONSOLE_CSP);
      // Always asked again: a new release's page must not run an old script.
      res.setHeader('Cache-Control', 'no-cache');
      res.type(type).send(body);
    });
  }
  return router;
}
