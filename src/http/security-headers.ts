/**
 * Headers for an API that answers with PHI: nothing may frame, sniff or cache it. The content
 * policy is the strictest (`default-src 'none'`): the API serves JSON only, no page loads anything.
 * The sandbox EHR is mounted after these too, which does it no harm for the same reason.
 */
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    frameguard: { action: 'deny' },
  });
}

/** Demographics, receipts and lists of writes must not stay in a browser's or proxy's cache. */
export function noStore(): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
}
