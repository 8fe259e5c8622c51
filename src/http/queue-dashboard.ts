/**
 * Mounts the queue dashboard (built in wiring, one board per tenant) behind access control: the
 * caller's tenant picks the board. A browser signs in with Basic (client id and key), which it is
 * asked for by the 401's challenge and then repeats for the board's own requests; no cookie.
 */
import type { RequestHandler, Router } from 'express';
import { ContinuumError } from '../domain/errors';
import { callerOf } from './caller';
import { sendProblem } from './problem';

/**
 * The board is a page: its scripts, styles and fonts come from the gateway itself and nowhere else
 * (its Google Fonts link is refused, so it renders offline in the system font). Inline styles only:
 * the UI's loading placeholder uses them.
 */
const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function queueDashboard(boards: ReadonlyMap<string, Router>): RequestHandler {
  return (req, res, next) => {
    const board = boards.get(callerOf(res).tenant.name);
    // Redis's INFO (version, host, memory) is the gateway's, not a tenant's: the page hides it,
    // and its API answers nothing either.
    if (board === undefined || req.path.startsWith('/api/redis')) {
      sendProblem(res, new ContinuumError('NOT_FOUND', { detail: 'no queue dashboard for this tenant' }));
      return;
    }
    res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
    res.setHeader('Cache-Control', 'no-store');
    board(req, res, next);
  };
}
