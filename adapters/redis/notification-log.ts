/**
 * What Continuum remembers of EHR notifications, in Redis: event ids claimed (kept a week, longer
 * than any EHR retries a delivery), the highest event number and its time per subscription, and
 * when each connection's last notification arrived.
 */
import type { Redis } from 'ioredis';
import type { NotificationLog } from '../../src/domain/ports';
import { luaScript } from './lua-script';

const SEEN_SECONDS = 7 * 86400;

// KEYS: the subscription's hash. ARGV: number, at (ISO).
// Returns the previous number and time (or nothing), and keeps the highest number.
const ADVANCE = luaScript(`
local previous = redis.call('HMGET', KEYS[1], 'number', 'at')
if not previous[1] or tonumber(ARGV[1]) > tonumber(previous[1]) then
  redis.call('HSET', KEYS[1], 'number', ARGV[1], 'at', ARGV[2])
end
if previous[1] then return {previous[1], previous[2]} end
return {}
`);

export function createRedisNotificationLog(options: {
  readonly redis: Redis;
  readonly prefix: string;
}): NotificationLog {
  const { redis, prefix } = options;
  const seenKey = (connection: string, eventId: string): string =>
    `${prefix}:notified:${connection}:${eventId}`;
  const lastKey = (connection: string): string => `${prefix}:notified-last:${connection}`;
  return {
    async claim(connection, eventId) {
      return (await redis.set(seenKey(connection, eventId), '1', 'EX', SEEN_SECONDS, 'NX')) === 'OK';
    },
    async release(connection, eventId) {
      await redis.del(seenKey(connection, eventId));
    },
    async advance(connection, subscription, eventNumber, at) {
      const previous = (await ADVANCE.run(
        redis,
        [`${prefix}:subscription-events:${connection}:${subscription}`],
        [eventNumber, at.toISOString()],
      )) as string[];
      const [number, when] = previous;
      return number === undefined || when === undefined ? undefined : { number: Number(number), at: when };
    },
    async touch(connection, at) {
      const previous = await redis.set(lastKey(connection), at.toISOString(), 'GET');
      return previous ?? undefined;
    },
  };
}
