/**
 * The EHR access token of each connection, shared by every gateway process through Redis and
 * sealed like every other secret at rest (record-cipher.ts): a copy of Redis is not a copy of
 * the token. The refresh lease (SET NX PX) lets one process at a time ask the token endpoint.
 */
import type { Redis } from 'ioredis';
import type { EhrAccessToken, SharedEhrTokenStore } from '../../src/domain/ehr-sign-in';
import type { RecordCipher } from './record-cipher';
import { luaScript } from './lua-script';

/** Deletes KEYS[1] only if it still holds ARGV[1] (the exact sealed bytes read before). */
const DELETE_IF_SAME = luaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export function createRedisEhrTokenStore(options: {
  readonly redis: Redis;
  readonly prefix: string;
  readonly cipher: RecordCipher;
}): SharedEhrTokenStore {
  const { redis, prefix, cipher } = options;
  const tokenKey = (connection: string): string => `${prefix}:ehr-token:${connection}`;
  const leaseKey = (connection: string): string => `${prefix}:ehr-token-refresh:${connection}`;

  const open = (key: string, sealed: Buffer): EhrAccessToken | undefined => {
    try {
      const value = JSON.parse(cipher.open(sealed, key)) as Partial<EhrAccessToken>;
      if (
        typeof value.accessToken !== 'string' ||
        typeof value.expiresAt !== 'number' ||
        typeof value.obtainedAt !== 'number' ||
        typeof value.credentials !== 'string'
      ) {
        return undefined;
      }
      return value as EhrAccessToken;
    } catch {
      // Sealed with another key (a rotated data key): as good as absent, a fresh one replaces it.
      return undefined;
    }
  };

  return {
    async read(connection) {
      const key = tokenKey(connection);
      const sealed = await redis.getBuffer(key);
      return sealed === null ? undefined : open(key, sealed);
    },

    async write(connection, token) {
      const key = tokenKey(connection);
      const ttl = Math.max(1, token.expiresAt - Date.now());
      await redis.set(key, cipher.seal(JSON.stringify(token), key), 'PX', ttl);
    },

    async deleteIf(connection, accessToken) {
      const key = tokenKey(connection);
      const sealed = await redis.getBuffer(key);
      if (sealed === null || open(key, sealed)?.accessToken !== accessToken) return;
      await DELETE_IF_SAME.run(redis, [key], [sealed]);
    },

    async claimRefresh(connection, owner, ms) {
      return (await redis.set(leaseKey(connection), owner, 'PX', ms, 'NX')) === 'OK';
    },

    async releaseRefresh(connection, owner) {
      await DELETE_IF_SAME.run(redis, [leaseKey(connection)], [owner]);
    },
  };
}
