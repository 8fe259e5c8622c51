/**
 * Mapping profile versions in Redis, content-addressed: `<prefix>:mapping:version:<hash>` holds the
 * files as `{name, storedAt, files}` JSON sealed with the record cipher (fixtures may be saved from
 * live records), written once (SET NX); `<prefix>:mapping:names:<hash>` is the set of profile names
 * stored with those files, since a copied profile has its original's files and hash until changed;
 * `<prefix>:mapping:history:<name>` is a sorted set of the profile's hashes by the time they were
 * last loaded; `<prefix>:mapping:hashes` holds every stored hash at score 0, so a hash prefix is
 * found by a lexical range (ZRANGEBYLEX) instead of a key scan. Nothing expires: a version is a few
 * kilobytes, a queued write may need it for as long as it waits, and there is no prune yet (README,
 * "Mapping profile versions").
 */
import type { Redis } from 'ioredis';
import type { MappingVersionStore, StoredMappingVersion } from '../../src/domain/mapping-versions';
import type { RecordCipher } from './record-cipher';

export interface RedisMappingVersionStoreOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly cipher: Pick<RecordCipher, 'seal' | 'open'>;
  readonly now?: () => Date;
}

interface StoredJson {
  readonly name: string;
  readonly storedAt: string;
  readonly files: Record<string, string>;
}

/** Versions stored before they were sealed are plain JSON; a sealed record never starts with `{`. */
const isPlainJson = (raw: Buffer): boolean => raw[0] === 0x7b;

export function createRedisMappingVersionStore(
  options: RedisMappingVersionStoreOptions,
): MappingVersionStore {
  const { redis, prefix, cipher } = options;
  const now = options.now ?? (() => new Date());
  const versionKey = (hash: string): string => `${prefix}:mapping:version:${hash}`;
  const namesKey = (hash: string): string => `${prefix}:mapping:names:${hash}`;
  const historyKey = (name: string): string => `${prefix}:mapping:history:${name}`;
  const hashesKey = `${prefix}:mapping:hashes`;

  const read = async (hash: string): Promise<StoredJson | undefined> => {
    const raw = await redis.getBuffer(versionKey(hash));
    if (raw === null) return undefined;
    const text = isPlainJson(raw) ? raw.toString('utf8') : cipher.open(raw, versionKey(hash));
    return JSON.parse(text) as StoredJson;
  };
  const seal = (hash: string, stored: StoredJson): Buffer =>
    cipher.seal(JSON.stringify(stored), versionKey(hash));

  return {
    async put(name, hash, files) {
      const at = now();
      const stored: StoredJson = {
        name,
        storedAt: at.toISOString(),
        files: Object.fromEntries([...files].map(([path, bytes]) => [path, bytes.toString('utf8')])),
      };
      const existing = await redis.getBuffer(versionKey(hash));
      const multi = redis.multi();
      if (existing !== null && isPlainJson(existing)) {
        // Stored in clear by an earlier release: sealed now, as first stored.
        const earlier = JSON.parse(existing.toString('utf8')) as StoredJson;
        multi.set(versionKey(hash), seal(hash, earlier), 'XX');
        multi.sadd(namesKey(hash), earlier.name);
      } else {
        multi.set(versionKey(hash), seal(hash, stored), 'NX');
      }
      await multi
        .sadd(namesKey(hash), name)
        .zadd(historyKey(name), at.getTime(), hash)
        .zadd(hashesKey, 0, hash)
        .exec();
    },
    async get(hash) {
      // Hashes are hex: anything else names no version (and must not reach a key name).
      if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
      const [parsed, names] = await Promise.all([read(hash), redis.smembers(namesKey(hash))]);
      if (parsed === undefined) return undefined;
      const version: StoredMappingVersion = {
        name: parsed.name,
        // Versions stored before names were kept were stored under their first name only.
        names: [...new Set([parsed.name, ...names])].sort(),
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
