/**
 * Request budgets per client, right after access control: each route takes from the budget
 * `route-budgets.ts` gives it (lookup, verify, read, write) or from none. Answers on limited routes
 * carry the IETF draft headers (draft-ietf-httpapi-ratelimit-headers-06: RateLimit-Limit,
 * -Remaining, -Reset, -Policy), 2xx included; a spent budget answers 429 TOO_MANY_REQUESTS with
 * Retry-After. Lookups the EHR answered with nobody are handed to scanning detection once the
 * answer has gone.
 */
import type { RequestHandler, Response } from 'express';
import { ContinuumError } from '../domain/errors';
import type { Metrics } from '../domain/metrics';
import type { Logger } from '../domain/ports';
import type { RateDecision, RateLimiter, RateLimiterCaller } from '../domain/rate-limits';
import { noteLookupMiss, type LookupScanningDeps } from '../use-cases/lookup-scanning';
import { callerOf } from './caller';
import { lookupOutcomeOf } from './lookup-outcome';
import { matchedRouteOf } from './matched-route';
import { sendProblem } from './problem';
import { budgetOf } from './route-budgets';

export interface RateLimitDeps {
  readonly limiter: RateLimiter;
  readonly scanning: LookupScanningDeps;
  /** Refusals are counted here, by budget. */
  readonly metrics?: Metrics;
}

function setRateLimitHeaders(res: Response, decision: RateDecision): void {
  const { points, windowSeconds } = decision.policy;
  res.setHeader('RateLimit-Limit', String(points));
  res.setHeader('RateLimit-Remaining', String(decision.remaining));
  res.setHeader('RateLimit-Reset', String(decision.resetSeconds));
  res.setHeader('RateLimit-Policy', `${points};w=${windowSeconds}`);
}

function watchLookup(res: Response, deps: LookupScanningDeps, caller: RateLimiterCaller): void {
  res.on('finish', () => {
    const outcome = lookupOutcomeOf(res);
    if (res.statusCode !== 200 || outcome === undefined) return;
    if (outcome.found || outcome.answeredBy !== 'ehr') return;
    noteLookupMiss(deps, caller, outcome.phone).catch((error: unknown) => {
      (res.locals.logger as Logger).warn({ err: error }, 'a lookup miss could not be noted');
    });
  });
}

export function rateLimit(deps: RateLimitDeps): RequestHandler {
  return (_req, res, next) => {
    const route = matchedRouteOf(res)?.spec;
    if (route === undefined || route.access === 'public') {
      next();
      return;
    }
    const budget = budgetOf(route);
    if (budget === 'unlimited') {
      next();
      return;
    }
    const { principal } = callerOf(res);
    const caller = { clientId: principal.clientId, tenant: principal.tenant };
    deps.limiter.take(budget, caller).then(
      (decision) => {
        setRateLimitHeaders(res, decision);
        if (!decision.allowed) {
          deps.metrics?.rateLimitRefusal(budget);
          sendProblem(
            res,
            new ContinuumError('TOO_MANY_REQUESTS', {
              detail:
                decision.resetSeconds > decision.policy.windowSeconds
                  ? `this client's ${budget} requests are paused for a while`
                  : `this client's ${budget} budget is spent (${decision.policy.points} per ${decision.policy.windowSeconds} s)`,
              retryAfterSeconds: decision.resetSeconds,
              extra: { budget },
            }),
          );
          return;
        }
        if (budget === 'lookup') watchLookup(res, deps.scanning, caller);
        next();
      },
      (error: unknown) => {
        // Not even the in-memory insurance answered: serve rather than refuse everyone.
        (res.locals.logger as Logger).warn({ err: error, budget }, 'request budget not checked');
        next();
      },
    );
  };
}
