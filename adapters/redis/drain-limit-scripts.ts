/**
 * The adaptive drain limit's shared state, one set of keys per connection:
 * - `leases`, a sorted set of permits in use scored by when they lapse, so a worker process that
 *   died holding permits gives them back by itself;
 * - `state`, a hash: the limit, the `Retry-After` pause, the window's pooled samples, and the
 *   rule's memory (recent window means).
 * Each step is one script, so processes never see a half-made change.
 */
import { luaScript } from './lua-script';

/** Returned by ACQUIRE when the permit was granted. */
export const GRANTED = -1;

// KEYS: leases, state. ARGV: now, lease id, lease ms, initial limit.
// Returns GRANTED, 0 when every permit is in use, or the ms a Retry-After still holds. A lease
// already granted (an earlier try whose answer did not arrive) is granted again, not taken twice.
export const ACQUIRE = luaScript(`
local now = tonumber(ARGV[1])
local mine = redis.call('ZSCORE', KEYS[1], ARGV[2])
if mine and tonumber(mine) > now then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  return -1
end
local paused = tonumber(redis.call('HGET', KEYS[2], 'pausedUntil') or '0')
if paused > now then return paused - now end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local limit = math.floor(tonumber(redis.call('HGET', KEYS[2], 'limit') or ARGV[4]))
local used = redis.call('ZCARD', KEYS[1])
if used >= limit then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
if used + 1 > tonumber(redis.call('HGET', KEYS[2], 'peak') or '0') then
  redis.call('HSET', KEYS[2], 'peak', used + 1)
end
return -1
`);

// KEYS: state. ARGV: calls, latency sum (ms), throttled, timeouts, paused until (ms, 0 = none).
export const FLUSH = luaScript(`
if tonumber(ARGV[1]) > 0 then redis.call('HINCRBY', KEYS[1], 'calls', ARGV[1]) end
if tonumber(ARGV[2]) > 0 then redis.call('HINCRBYFLOAT', KEYS[1], 'latencySum', ARGV[2]) end
if tonumber(ARGV[3]) > 0 then redis.call('HINCRBY', KEYS[1], 'throttled', ARGV[3]) end
if tonumber(ARGV[4]) > 0 then redis.call('HINCRBY', KEYS[1], 'timeouts', ARGV[4]) end
if tonumber(ARGV[5]) > tonumber(redis.call('HGET', KEYS[1], 'pausedUntil') or '0') then
  redis.call('HSET', KEYS[1], 'pausedUntil', ARGV[5])
end
return 1
`);

// KEYS: leases, state. ARGV: now, window ms, least calls.
// Claims the window's judgement for one process: returns the pooled window and the rule's state,
// and starts the next window, or nil when another process judged within the window. A window with
// fewer calls than the least grows up to four windows long first: the mean of two calls is noise.
export const CLAIM_WINDOW = luaScript(`
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local elapsed = now - tonumber(redis.call('HGET', KEYS[2], 'judgedAt') or '0')
if elapsed < window then return nil end
local fields = redis.call('HMGET', KEYS[2], 'calls', 'latencySum', 'throttled', 'timeouts', 'peak', 'limit', 'means', 'sinceCut')
local signals = tonumber(fields[1] or '0') + tonumber(fields[3] or '0') + tonumber(fields[4] or '0')
if signals < tonumber(ARGV[3]) and tonumber(fields[3] or '0') + tonumber(fields[4] or '0') == 0 and elapsed < 4 * window then
  return nil
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local inUse = redis.call('ZCARD', KEYS[1])
redis.call('HSET', KEYS[2], 'judgedAt', now, 'calls', 0, 'latencySum', 0, 'throttled', 0, 'timeouts', 0, 'peak', inUse)
return fields
`);

// KEYS: state. ARGV: initial limit.
// An outage also ends a Retry-After pause: once the EHR is back, the probe and the limit decide.
export const RESTART = luaScript(`
local limit = tonumber(redis.call('HGET', KEYS[1], 'limit') or ARGV[1])
local restarted = math.max(math.min(limit, tonumber(ARGV[1])), math.floor(limit / 2))
redis.call('HSET', KEYS[1], 'limit', restarted, 'change', 'restart', 'sinceCut', 0, 'pausedUntil', 0)
return restarted
`);

// KEYS: state. ARGV: limit, means (JSON), change, windows since the last cut.
export const SAVE_LIMIT = luaScript(`
redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'means', ARGV[2], 'change', ARGV[3], 'sinceCut', ARGV[4])
return 1
`);
