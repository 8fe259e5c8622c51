/**
 * Slot holds in Redis: one hash per connection, slot id -> `<operation id>|<held at ms>`. A hold
 * whose booking is no longer queued or sending (finished, cancelled, or never stored because the
 * request died after taking it) is stale and may be taken over; a fresh hold gets a grace period,
 * since its operation is stored just after the hold is taken.
 */
import type { Redis } from 'ioredis';
import type { SlotHolds } from '../../src/domain/ports';
import { luaScript } from './lua-script';

// KEYS: holds hash, queued index, sending index. ARGV: slot, operation, now (ms), grace (ms).
// Returns '' when held by this operation now, else the live holder's id.
const HOLD = luaScript(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local sep = string.find(current, '|', 1, true)
  local holder = string.sub(current, 1, sep - 1)
  local at = tonumber(string.sub(current, sep + 1))
  if holder == ARGV[2] then return '' end
  local live = redis.call('ZSCORE', KEYS[2], holder) or redis.call('ZSCORE', KEYS[3], holder)
  if live or tonumber(ARGV[3]) - at < tonumber(ARGV[4]) then return holder end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
return ''
`);

// KEYS: holds hash. ARGV: slot, operation.
const RELEASE = luaScript(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and string.sub(current, 1, string.len(ARGV[2]) + 1) == ARGV[2] .. '|' then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`);

/** How long a hold stands before its operation must show up in the queue. */
const GRACE_MS = 30_000;

export interface RedisSlotHoldsOptions {
  readonly redis: Redis;
  /** Hash-tagged prefix, the operation store's own: the script reads its status indexes. */
  readonly prefix: string;
}

export function createRedisSlotHolds(options: RedisSlotHoldsOptions): SlotHolds {
  const { redis, prefix } = options;
  const holdsKey = (connection: string): string => `${prefix}:slot-holds:${connection}`;
  const statusKey = (connection: string, status: string): string => `${prefix}:ops:${connection}:${status}`;
  return {
    async hold(connection, slotId, operationId) {
      const holder = (await HOLD.run(
        redis,
        [holdsKey(connection), statusKey(connection, 'queued'), statusKey(connection, 'sending')],
        [slotId, operationId, Date.now(), GRACE_MS],
      )) as string;
      return holder === '' ? { held: true } : { held: false, holder };
    },
    async holder(connection, slotId) {
      const value = await redis.hget(holdsKey(connection), slotId);
      return value === null ? undefined : value.split('|')[0];
    },
    async release(connection, slotId, operationId) {
      await RELEASE.run(redis, [holdsKey(connection)], [slotId, operationId]);
    },
    async heldSlots(connection) {
      return new Set(await redis.hkeys(holdsKey(connection)));
    },
  };
}
