/**
 * The continuity cache in Redis. Entries carry PHI (demographics, appointments), so each is
 * sealed with the record cipher and bound to its key name; a TTL bounds how stale an answer may
 * get and how long PHI stays. Sized for a long outage: the default keeps answers for days.
 */
import type { Redis } from 'ioredis';
import type { CachedRead, ReadCache } from '../../src/domain/ports';
import type { RecordCipher } from './record-cipher';

export interface RedisReadCacheOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly cipher: RecordCipher;
  readonly ttlSeconds: number;
}

export function createRedisReadCache(options: RedisReadCacheOptions): ReadCache {
  const { redis, prefix, cipher, ttlSeconds } = options;
  const keyOf = (connection: string, key: string): string => `${prefix}:cache:${connection}:${key}`;
  const groupOf = (connection: string, group: string): string =>
    `${prefix}:cache-group:${connection}:${group}`;
  return {
    async put(connection, key, value, asOf, group) {
      const name = keyOf(connection, key);
      const entry: CachedRead<unknown> = { value, asOf: asOf.toISOString() };
      const sealed = cipher.seal(JSON.stringify(entry), name);
      if (group === undefined) {
        await redis.set(name, sealed, 'EX', ttlSeconds);
        return;
      }
      const members = groupOf(connection, group);
      await redis
        .multi()
        .set(name, sealed, 'EX', ttlSeconds)
        .sadd(members, name)
        .expire(members, ttlSeconds)
        .exec();
    },
    async forgetGroup(connection, group) {
      const members = groupOf(connection, group);
      const names = await redis.smembers(members);
      // An entry stored between these two steps is re-listed by its own put: it is then current.
      await redis.del(members, ...names);
    },
    async get<T>(connection: string, key: string): Promise<CachedRead<T> | undefined> {
      const name = keyOf(connection, key);
      const sealed = await redis.getBuffer(name);
      if (sealed === null) return undefined;
      return JSON.parse(cipher.open(sealed, name)) as CachedRead<T>;
    },
  };
}
