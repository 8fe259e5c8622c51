/**
 * One circuit breaker per EHR connection, its state in Redis so every worker process sees the
 * same one. Closed: writes flow. Open (after N consecutive failures or timeouts, or at once when
 * calls stall on a hung EHR: see adapters/ehr/stalled-calls.ts): no write is sent,
 * the lanes of that connection pause, and a probe (`GET /metadata`) runs on an interval. Half-open
 * (the probe answered): writes flow again under the drain rate cap; the first success closes it,
 * the first failure opens it again.
 */
import type { Redis } from 'ioredis';
import type { BreakerSnapshot, BreakerState, CircuitBreaker, Logger } from '../../src/domain/ports';
import { withDeadline } from '../../src/domain/with-deadline';
import { luaScript } from './lua-script';

// KEYS: breaker hash. ARGV: threshold, now (ms). Returns 1 when this failure opened the breaker.
const RECORD_FAILURE = luaScript(`
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state ~= 'open' and (failures >= tonumber(ARGV[1]) or state == 'half-open') then
  redis.call('HSET', KEYS[1], 'state', 'open', 'openedAt', ARGV[2], 'probeAt', ARGV[2])
  return 1
end
return 0
`);

// KEYS: breaker hash. ARGV: stalled calls, now (ms). Returns 1 when this stall opened the breaker.
// The stalled calls count as failures, and are as strong a sign as the threshold's worth of them.
const RECORD_STALL = luaScript(`
redis.call('HINCRBY', KEYS[1], 'failures', tonumber(ARGV[1]))
if (redis.call('HGET', KEYS[1], 'state') or 'closed') == 'open' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'open', 'openedAt', ARGV[2], 'probeAt', ARGV[2])
return 1
`);

// KEYS: breaker hash. Returns 1 when this success closed an open or half-open breaker.
const RECORD_SUCCESS = luaScript(`
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
if state == 'closed' and failures == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0)
if state ~= 'closed' then return 1 end
return 0
`);

// KEYS: breaker hash. ARGV: now, interval. Claims the next probe (one process probes at a time).
const CLAIM_PROBE = luaScript(`
if (redis.call('HGET', KEYS[1], 'state') or 'closed') ~= 'open' then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'probeAt') or '0')
if tonumber(ARGV[1]) - last < tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'probeAt', ARGV[1])
return 1
`);

export interface CircuitBreakerOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly connection: string;
  readonly failureThreshold: number;
  readonly probeIntervalMs: number;
  readonly logger: Logger;
  readonly cacheMs?: number;
  /** Told of every change of state (events for call centers hang off this). */
  readonly onTransition?: (state: BreakerState) => void;
}

export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const key = `${options.prefix}:breaker:${options.connection}`;
  const cacheMs = options.cacheMs ?? 250;
  let cached: { state: BreakerState; failures: number; at: number } | undefined;
  const log = options.logger.child({ connection: options.connection, component: 'circuit-breaker' });

  const changed = (state: BreakerState, detail: Record<string, unknown> = {}): void => {
    cached = { state, failures: state === 'closed' ? 0 : (cached?.failures ?? 0), at: Date.now() };
    if (state === 'open') log.warn(detail, 'EHR unavailable: circuit breaker opened, writes paused');
    else log.info(detail, `circuit breaker ${state}`);
    options.onTransition?.(state);
  };

  async function snapshot(): Promise<BreakerSnapshot> {
    const hash = await options.redis.hgetall(key);
    const state = (hash.state ?? 'closed') as BreakerState;
    cached = { state, failures: Number(hash.failures ?? 0), at: Date.now() };
    const iso = (ms: string | undefined): string | undefined =>
      ms ? new Date(Number(ms)).toISOString() : undefined;
    return {
      state,
      consecutiveFailures: Number(hash.failures ?? 0),
      openedAt: state === 'closed' ? undefined : iso(hash.openedAt),
      lastProbeAt: state === 'closed' ? undefined : iso(hash.probeAt),
    };
  }

  return {
    connection: options.connection,
    snapshot,
    async allowsRequests() {
      if (cached === undefined || Date.now() - cached.at > cacheMs) {
        // A hung Redis must not hang the caller: past a short wait, the last known state stands.
        await withDeadline(snapshot(), 250, 'the breaker state').catch(() => undefined);
      }
      return cached?.state !== 'open';
    },
    async recordSuccess() {
      // Nearly every write succeeds on a healthy EHR: while the state read moments ago shows a
      // closed breaker with no failures, there is nothing to reset and Redis is not asked. Another
      // process's failure is seen within `cacheMs`, and then reset by the next success.
      if (cached !== undefined && Date.now() - cached.at <= cacheMs) {
        if (cached.state === 'closed' && cached.failures === 0) return;
      }
      if ((await RECORD_SUCCESS.run(options.redis, [key], [])) === 1) changed('closed');
      if (cached !== undefined) cached = { ...cached, failures: 0 };
    },
    async recordFailure() {
      const opened = await RECORD_FAILURE.run(
        options.redis,
        [key],
        [String(options.failureThreshold), String(Date.now())],
      );
      if (cached !== undefined) cached = { ...cached, failures: cached.failures + 1 };
      if (opened === 1) changed('open', { threshold: options.failureThreshold });
    },
    async recordStall(stalled) {
      const opened = await RECORD_STALL.run(options.redis, [key], [String(stalled), String(Date.now())]);
      if (cached !== undefined) cached = { ...cached, failures: cached.failures + stalled };
      if (opened === 1) changed('open', { stalledCalls: stalled });
    },
    async probeIfDue(check) {
      const claimed = await CLAIM_PROBE.run(
        options.redis,
        [key],
        [String(Date.now()), String(options.probeIntervalMs)],
      );
      if (claimed !== 1) return;
      try {
        await check();
      } catch {
        log.info({}, 'probe: EHR still unavailable');
        return;
      }
      await options.redis.hset(key, 'state', 'half-open');
      changed('half-open');
    },
  };
}
