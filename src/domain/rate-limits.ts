/**
 * Request budgets per API client, shared by every process: a client that floods one kind of
 * request is refused (429) while every other client, of its tenant or another, keeps its own.
 */

/** The kinds of request that are counted apart: a flood of writes never eats a desk's lookups. */
export const BUDGETS = ['lookup', 'verify', 'read', 'write'] as const;

export type Budget = (typeof BUDGETS)[number];

/** How many requests of one budget a client may make per window. */
export interface BudgetPolicy {
  readonly points: number;
  readonly windowSeconds: number;
}

/** What one request took from its budget, as the RateLimit-* headers tell it. */
export interface RateDecision {
  readonly allowed: boolean;
  readonly policy: BudgetPolicy;
  readonly remaining: number;
  /** Seconds until the budget is full again (or, when refused, until the next request may pass). */
  readonly resetSeconds: number;
}

export interface RateLimiterCaller {
  readonly clientId: string;
  readonly tenant: string;
}

/** Budgets per client, counted in one place every process of the gateway shares. */
export interface RateLimiter {
  /** The budget the caller has for this kind of request (client override, tenant override, default). */
  policy(budget: Budget, caller: RateLimiterCaller): BudgetPolicy;
  /** Takes one request from the caller's budget: refused when none is left. */
  take(budget: Budget, caller: RateLimiterCaller): Promise<RateDecision>;
  /** Refuses every request of this budget from the caller for `seconds`, whatever is left of it. */
  throttle(budget: Budget, caller: RateLimiterCaller, seconds: number): Promise<void>;
}

/**
 * Lookups that found nobody, per client, over a sliding window: only a keyed hash of each number
 * is kept. `startedEpisode` is true for exactly one miss per episode, in all processes together:
 * the first one past the threshold.
 */
export interface LookupMissLog {
  note(
    clientId: string,
    phone: string,
  ): Promise<{ readonly distinctMisses: number; readonly startedEpisode: boolean }>;
}
