/**
 * The route table entry a request matched, as access control found it, with the path's parameters:
 * the middleware after it (request budgets, the audit trail) read it here instead of matching the
 * path against the table again.
 */
import type { Response } from 'express';
import type { RouteSpec } from './route-table';

export interface MatchedRoute {
  readonly spec: RouteSpec;
  /** Still percent-encoded. */
  readonly params: Readonly<Record<string, unknown>>;
}

export function setMatchedRoute(res: Response, matched: MatchedRoute | undefined): void {
  res.locals.matchedRoute = matched;
}

/** Undefined for a request the table does not know (access control answers those itself). */
export function matchedRouteOf(res: Response): MatchedRoute | undefined {
  return res.locals.matchedRoute as MatchedRoute | undefined;
}
