/**
 * Lookups that found nobody, per client, over a sliding window in Redis: a sorted set of keyed
 * hashes of the numbers (never the numbers), scored by time, so a number missed twice counts once.
 * One script adds the miss, counts, and opens an episode when the count passes the threshold; the
 * episode key (SET NX) makes its first miss the only one that says so, in every process.
 */
import type { Redis } from 'ioredis';
import type { LookupMissLog } from '../../src/domain/rate-limits';
import type { RecordCipher } from './record-cipher';

export interface RedisLookupMissLogOptions {
  readonly redis: Redis;
  /** The gateway's hash-tagged key prefix, e.g. `{continuum}`. */
  readonly prefix: string;
  readonly cipher: Pick<RecordCipher, 'blind'>;
  readonly windowMs: number;
  /** Distinct misses in the window above which an episode starts. */
  readonly threshold: number;
  /** How long an episode lasts: no second one starts before it ends. */
  readonly episodeMs: number;
  readonly now?: () => number;
}

/**
 * KEYS[1] the client's misses, KEYS[2] its episode marker.
 * ARGV[1] the number's hash, ARGV[2] now (ms), ARGV[3] window (ms), ARGV[4] threshold, ARGV[5] episode (ms).
 * Returns {distinct misses in the window, 1 if this miss started an episode else 0}.
 */
const NOTE = `
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local distinct = redis.call('ZCARD', KEYS[1])
if distinct > tonumber(ARGV[4]) then
  if redis.call('SET', KEYS[2], now, 'PX', ARGV[5], 'NX') then return {distinct, 1} end
end
return {distinct, 0}
`;

export function createRedisLookupMissLog(options: RedisLookupMissLogOptions): LookupMissLog {
  const { redis, prefix, cipher, windowMs, threshold, episodeMs } = options;
  const now = options.now ?? Date.now;
  return {
    async note(clientId, phone) {
      const [distinctMisses, started] = (await redis.eval(
        NOTE,
        2,
        `${prefix}:lookup-misses:${clientId}`,
        `${prefix}:lookup-scanning:${clientId}`,
        cipher.blind(phone),
        now(),
        Math.round(windowMs),
        threshold,
        Math.round(episodeMs),
      )) as [number, number];
      return { distinctMisses, startedEpisode: started === 1 };
    },
  };
}
