/**
 * Callback windows' places in Redis: one counter per tenant and window, expiring a day after the
 * window ends. A script walks the candidate windows in order and takes a place in the first below
 * capacity, so any number of API processes reserving at once never over-book a window.
 */
import type { Redis } from 'ioredis';
import type { CallbackBook, CallbackWindow } from '../../src/domain/callback-windows';
import { luaScript } from './lua-script';

// KEYS: one counter per candidate window. ARGV: capacity, then each window's expiry (unix ms).
// Returns the 1-based index of the window a place was taken in, 0 when all are full.
const RESERVE = luaScript(`
local capacity = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local taken = tonumber(redis.call('GET', key) or '0')
  if taken < capacity then
    redis.call('INCR', key)
    redis.call('PEXPIREAT', key, tonumber(ARGV[i + 1]))
    return i
  end
end
return 0
`);

// KEYS: the window's counter. Never below zero, whatever the order of releases.
const RELEASE = luaScript(`
local taken = tonumber(redis.call('GET', KEYS[1]) or '0')
if taken > 0 then redis.call('DECR', KEYS[1]) end
return 0
`);

// KEYS: the holder's claim, then one counter per candidate window. ARGV: capacity, then each
// window's expiry (unix ms), then each window as `start|end`. The claim names the window its holder
// took, so asking again answers that window and counts nothing. Returns the window, '' when all are full.
const RESERVE_FOR = luaScript(`
local held = redis.call('GET', KEYS[1])
if held then return held end
local capacity = tonumber(ARGV[1])
local n = #KEYS - 1
for i = 1, n do
  local key = KEYS[i + 1]
  local taken = tonumber(redis.call('GET', key) or '0')
  if taken < capacity then
    local expiry = tonumber(ARGV[i + 1])
    redis.call('INCR', key)
    redis.call('PEXPIREAT', key, expiry)
    redis.call('SET', KEYS[1], ARGV[n + i + 1], 'PXAT', expiry)
    return ARGV[n + i + 1]
  end
end
return ''
`);

// KEYS: the holder's claim, the counter of the window it named. ARGV: that window (`start|end`).
// Gives the place back once, whatever the repeats: only the call that deletes the claim counts down.
const RELEASE_FOR = luaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
local taken = tonumber(redis.call('GET', KEYS[2]) or '0')
if taken > 0 then redis.call('DECR', KEYS[2]) end
return 1
`);

const KEEP_AFTER_END_MS = 24 * 3600 * 1000;

/** Redis scripts take every key they touch; a search further than this is cut (weeks of windows). */
const MAX_CANDIDATES = 500;

export function createRedisCallbackBook(options: {
  readonly redis: Redis;
  readonly prefix: string;
}): CallbackBook {
  const { redis, prefix } = options;
  const keyOf = (tenant: string, window: CallbackWindow): string =>
    `${prefix}:callback-windows:${tenant}:${window.start}`;
  const claimOf = (tenant: string, holder: string): string =>
    `${prefix}:callback-window-holders:${tenant}:${holder}`;
  return {
    async reserve(tenant, windows, capacity) {
      const candidates = windows.slice(0, MAX_CANDIDATES);
      if (candidates.length === 0) return undefined;
      const index = (await RESERVE.run(
        redis,
        candidates.map((w) => keyOf(tenant, w)),
        [capacity, ...candidates.map((w) => Date.parse(w.end) + KEEP_AFTER_END_MS)],
      )) as number;
      return index === 0 ? undefined : index - 1;
    },
    async reserveFor(tenant, holder, windows, capacity) {
      const candidates = windows.slice(0, MAX_CANDIDATES);
      const held = (await RESERVE_FOR.run(
        redis,
        [claimOf(tenant, holder), ...candidates.map((w) => keyOf(tenant, w))],
        [
          capacity,
          ...candidates.map((w) => Date.parse(w.end) + KEEP_AFTER_END_MS),
          ...candidates.map((w) => `${w.start}|${w.end}`),
        ],
      )) as string;
      const [start, end] = held.split('|');
      return start === undefined || end === undefined || start === '' ? undefined : { start, end };
    },
    async releaseFor(tenant, holder) {
      const claim = claimOf(tenant, holder);
      const held = await redis.get(claim);
      const start = held?.split('|')[0];
      if (held === null || start === undefined) return;
      await RELEASE_FOR.run(redis, [claim, keyOf(tenant, { start, end: '' })], [held]);
    },
    async release(tenant, window) {
      await RELEASE.run(redis, [keyOf(tenant, window)], []);
    },
    async taken(tenant, windows) {
      if (windows.length === 0) return [];
      const values = await redis.mget(...windows.map((w) => keyOf(tenant, w)));
      return values.map((v) => Number(v ?? 0));
    },
  };
}
