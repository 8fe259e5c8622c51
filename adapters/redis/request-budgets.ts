/**
 * Request budgets per client on Redis (rate-limiter-flexible's RateLimiterRedis): one counter per
 * client and budget under the gateway's hash-tagged prefix, so every API process takes from the
 * same budget.
 *
 * Redis away or slow: each counter has an in-memory insurance limiter with the same budget, used
 * when Redis is not connected or does not answer within `timeoutMs`. Requests keep being served
 * (each process then counts on its own, so a client may get up to one budget per process) rather
 * than an outage of Redis turning into a refusal of every lookup.
 */
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  RLWrapperTimeouts,
} from 'rate-limiter-flexible';
import type {
  Budget,
  BudgetPolicy,
  RateDecision,
  RateLimiter,
  RateLimiterCaller,
} from '../../src/domain/rate-limits';

export interface RedisRequestBudgetsOptions {
  readonly redis: Redis;
  /** The gateway's hash-tagged key prefix, e.g. `{continuum}`. */
  readonly prefix: string;
  /** The caller's budget: the wiring resolves client and tenant overrides. */
  readonly policy: (budget: Budget, caller: RateLimiterCaller) => BudgetPolicy;
  /** Past this, the insurance limiter answers instead of Redis. */
  readonly timeoutMs: number;
}

export function createRedisRequestBudgets(options: RedisRequestBudgetsOptions): RateLimiter {
  const { redis, prefix, policy, timeoutMs } = options;
  // One limiter per budget and policy: clients with the same budget share it; their keys differ.
  const limiters = new Map<string, RLWrapperTimeouts>();
  const limiterFor = (budget: Budget, p: BudgetPolicy): RLWrapperTimeouts => {
    const id = `${budget}:${p.points}:${p.windowSeconds}`;
    let limiter = limiters.get(id);
    if (limiter === undefined) {
      const keyPrefix = `${prefix}:rate:${budget}`;
      const insuranceLimiter = new RateLimiterMemory({
        keyPrefix,
        points: p.points,
        duration: p.windowSeconds,
      });
      limiter = new RLWrapperTimeouts({
        limiter: new RateLimiterRedis({
          storeClient: redis,
          keyPrefix,
          points: p.points,
          duration: p.windowSeconds,
          // A reconnecting client would queue the command: answer from memory at once instead.
          rejectIfRedisNotReady: true,
          insuranceLimiter,
        }),
        timeoutMs,
        insuranceLimiter,
      });
      limiters.set(id, limiter);
    }
    return limiter;
  };
  const decision = (allowed: boolean, p: BudgetPolicy, res: RateLimiterRes): RateDecision => ({
    allowed,
    policy: p,
    remaining: allowed ? res.remainingPoints : 0,
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  });
  return {
    policy,
    async take(budget, caller) {
      const p = policy(budget, caller);
      try {
        return decision(true, p, await limiterFor(budget, p).consume(caller.clientId));
      } catch (refusal) {
        if (refusal instanceof RateLimiterRes) return decision(false, p, refusal);
        throw refusal;
      }
    },
    async throttle(budget, caller, seconds) {
      await limiterFor(budget, policy(budget, caller)).block(caller.clientId, seconds);
    },
  };
}
