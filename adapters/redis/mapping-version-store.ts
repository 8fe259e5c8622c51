/**
 * Mapping profile versions in Redis, content-addressed: `<prefix>:mapping:version:<hash>` holds the
 * JSON `{name, storedAt, files}`, written once (SET NX) and never expired: a version is a few
 * kilobytes and a queued write may need it for as long as it waits. `<prefix>:mapping:history:<name>`
 * is a sorted set of the profile's hashes by the time they were last loaded. `<prefix>:mapping:hashes`
 * holds every stored hash at score 0, so a hash prefix is found by a lexical range (ZRANGEBYLEX)
 * instead of a key scan.
 */
import type { Redis } from 'ioredis';
import type { MappingVersionStore, StoredMappingVersion } from '../../src/domain/mapping-versions';

export interface RedisMappingVersionStoreOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly now?: () => Date;
}

interface StoredJson {
  readonly name: string;
  readonly storedAt: string;
  readonly files: Record<string, string>;
}

export function createRedisMappingVersionStore(
  options: RedisMappingVersionStoreOptions,
): MappingVersionStore {
  const { redis, prefix } = options;
  const now = options.now ?? (() => new Date());
  const versionKey = (hash: string): string => `${prefix}:mapping:version:${hash}`;
  const historyKey = (name: string): string => `${prefix}:mapping:history:${name}`;
  const hashesKey = `${prefix}:mapping:hashes`;
  return {
    async put(name, hash, files) {
      const at = now();
      const stored: StoredJson = {
        name,
        storedAt: at.toISOString(),
        files: Object.fromEntries([...files].map(([path, bytes]) => [path, bytes.toString('utf8')])),
      };
      await redis
        .multi()
        .set(versionKey(hash), JSON.stringify(stored), 'NX')
        .zadd(historyKey(name), at.getTime(), hash)
        .zadd(hashesKey, 0, hash)
        .exec();
    },
    async get(hash) {
      // Hashes are hex: anything else names no version (and must not reach a key name).
      if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
      const raw = await redis.get(versionKey(hash));
      if (raw === null) return undefined;
      const parsed = JSON.parse(raw) as StoredJson;
      const version: StoredMappingVersion = {
        name: parsed.name,
        hash,
        storedAt: parsed.storedAt,
        files: parsed.files,
      };
      return version;
    },
    async resolve(hexPrefix, limit) {
      if (!/^[0-9a-f]{1,64}$/.test(hexPrefix)) return [];
      // '~' sorts after every hex digit: the range is exactly the members that start with the prefix.
      return redis.zrangebylex(hashesKey, `[${hexPrefix}`, `(${hexPrefix}~`, 'LIMIT', 0, limit);
    },
    async history(name) {
      const entries = await redis.zrevrange(historyKey(name), 0, -1, 'WITHSCORES');
      const out: { hash: string; at: string }[] = [];
      for (let i = 0; i + 1 < entries.length; i += 2) {
        out.push({ hash: entries[i] ?? '', at: new Date(Number(entries[i + 1])).toISOString() });
      }
      return out;
    },
  };
}
