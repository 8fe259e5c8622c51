/**
 * Failed attempts per caller in a fixed window, in Redis (identity verification). One Lua script
 * checks and takes an attempt atomically, so a burst of concurrent attempts cannot get past the
 * limit before the first failures are counted; an attempt that did not fail is given back.
 * Caller keys may be phone numbers (the calling number): only their keyed hash is stored.
 */
import type { Redis } from 'ioredis';
import type { AttemptDecision, AttemptLimiter } from '../../src/domain/ports';
import type { RecordCipher } from './record-cipher';

export interface RedisAttemptLimiterOptions {
  readonly redis: Redis;
  /** The gateway's hash-tagged key prefix, e.g. `{continuum}`. */
  readonly prefix: string;
  readonly cipher: RecordCipher;
  /** Failed attempts a caller may make per window; the next one is refused. */
  readonly maxFailedAttempts: number;
  readonly windowMs: number;
}

/**
 * KEYS[1] the caller's counter; ARGV[1] the limit, ARGV[2] the window in ms.
 * Returns {1, ttlMs} when the attempt was taken, {0, ttlMs} when the limit is reached.
 */
const RESERVE = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
  end
  return {0, ttl}
end
redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {1, ttl}
`;

/** Gives one attempt back; never below zero, and a window that already ended stays ended. */
const RELEASE = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return 0
`;

/**
 * Settles an answered attempt: ARGV[1] is 1 when it failed (it keeps counting), 0 when it did not
 * (it is given back). Both read the counter and write it back (DECRBY 0 or 1, which keeps its
 * expiry), so a right answer and a wrong one cost Redis the same. A window that already ended
 * stays ended.
 */
const SETTLE = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
  local back = 0
  if ARGV[1] == '0' then back = 1 end
  redis.call('DECRBY', KEYS[1], back)
end
return 0
`;

export function createRedisAttemptLimiter(options: RedisAttemptLimiterOptions): AttemptLimiter {
  const { redis, prefix, cipher, maxFailedAttempts, windowMs } = options;
  const keyOf = (callerKey: string): string => `${prefix}:verify-attempts:${cipher.blind(callerKey)}`;
  return {
    async reserve(callerKey): Promise<AttemptDecision> {
      const [taken, ttlMs] = (await redis.eval(
        RESERVE,
        1,
        keyOf(callerKey),
        maxFailedAttempts,
        Math.round(windowMs),
      )) as [number, number];
      if (taken === 1) return { allowed: true };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) };
    },
    async release(callerKey) {
      await redis.eval(RELEASE, 1, keyOf(callerKey));
    },
    async settle(callerKey, failed) {
      await redis.eval(SETTLE, 1, keyOf(callerKey), failed ? 1 : 0);
    },
  };
}
