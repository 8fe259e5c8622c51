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
  return {
    async put(connection, key, value, asOf) {
      const name = keyOf(connection, key);
      const entry: CachedRead<unknown> = { value, asOf: asOf.toISOString() };
      await redis.set(name, cipher.seal(JSON.stringify(entry), name), 'EX', ttlSeconds);
    },
    async get<T>(connection: string, key: string): Promise<CachedRead<T> | undefined> {
      const name = keyOf(connection, key);
      const sealed = await redis.getBuffer(name);
      if (sealed === null) return undefined;
      return JSON.parse(cipher.open(sealed, name)) as CachedRead<T>;
    },
  };
}
