/** Request budgets per client and scanning detection, on the gateway's Redis. */
import type { Redis } from 'ioredis';
import { createRedisLookupMissLog } from '../../adapters/redis/lookup-miss-log';
import type { RecordCipher } from '../../adapters/redis/record-cipher';
import { createRedisRequestBudgets } from '../../adapters/redis/request-budgets';
import type { Config } from '../config/load-config';
import type { Clock, EventPublisher, Logger } from '../domain/ports';
import type { Budget, BudgetPolicy, RateLimiterCaller } from '../domain/rate-limits';
import type { RateLimitDeps } from '../http/rate-limit';

/** Past this, a budget is checked in this process's memory instead of Redis. */
const REDIS_TIMEOUT_MS = 300;

/** The caller's budget: its client's override, else its tenant's, else the default. */
export function budgetPolicy(
  limits: Config['limits'],
): (budget: Budget, caller: RateLimiterCaller) => BudgetPolicy {
  return (budget, caller) => ({
    points:
      limits.perClient[caller.clientId]?.[budget] ??
      limits.perTenant[caller.tenant]?.[budget] ??
      limits.budgets[budget],
    windowSeconds: limits.windowSeconds,
  });
}

export function buildRateLimits(
  config: Config,
  deps: {
    readonly redis: Redis;
    readonly prefix: string;
    readonly cipher: Pick<RecordCipher, 'blind'>;
    readonly events: EventPublisher;
    readonly logger: Logger;
    readonly clock: Clock;
  },
): RateLimitDeps {
  const { limits } = config;
  const limiter = createRedisRequestBudgets({
    redis: deps.redis,
    prefix: deps.prefix,
    policy: budgetPolicy(limits),
    timeoutMs: REDIS_TIMEOUT_MS,
  });
  const misses = createRedisLookupMissLog({
    redis: deps.redis,
    prefix: deps.prefix,
    cipher: deps.cipher,
    windowMs: limits.scanning.windowSeconds * 1000,
    threshold: limits.scanning.distinctMisses,
    episodeMs: limits.scanning.throttleSeconds * 1000,
    now: () => deps.clock.now().getTime(),
  });
  return {
    limiter,
    scanning: {
      misses,
      limiter,
      events: deps.events,
      logger: deps.logger.child({ component: 'rate-limits' }),
      clock: deps.clock,
      throttleSeconds: limits.scanning.throttleSeconds,
    },
  };
}
