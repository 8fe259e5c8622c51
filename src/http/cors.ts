/**
 * CORS for the origins an operator lists, and for no others: with an empty list (the default) no
 * CORS header is ever sent, so no web page can read an answer. Written here rather than with the
 * `cors` package, which answers every preflight (only without the allow header for origins it does
 * not list): here a preflight from an unlisted origin is not answered as one at all.
 */
import type { RequestHandler } from 'express';

const METHODS = 'GET, POST, PATCH';
const ALLOWED_HEADERS =
  'Authorization, X-API-Key, Content-Type, Idempotency-Key, If-Match, Prefer, X-Request-Id, X-Contact-Id, X-Call-Id';
const EXPOSED_HEADERS = 'Location, ETag, Retry-After, X-Request-Id';
const PREFLIGHT_MAX_AGE_SECONDS = '600';

export function cors(allowOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowOrigins);
  return (req, res, next) => {
    if (allowed.size === 0) {
      next();
      return;
    }
    // The answer differs by Origin: caches must keep them apart.
    res.vary('Origin');
    const origin = req.get('origin');
    if (origin === undefined || !allowed.has(origin)) {
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    if (req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE_SECONDS);
      res.status(204).end();
      return;
    }
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    next();
  };
}
