/**
 * Proves a registry answers a key from memory, not from Redis: the key's hash is hidden from the
 * Redis index for a moment and the key must still authenticate. A revocation test that starts from
 * there shows the change message refusing the key, not a cache miss.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ClientRegistry } from '../../src/domain/access';
import { waitFor } from './wait-for';

export async function waitUntilCached(
  registry: ClientRegistry,
  redis: Redis,
  prefix: string,
  key: string,
): Promise<void> {
  const index = `${prefix}:clients:keys`;
  const hash = createHash('sha256').update(key).digest('hex');
  // The registry trusts its cache only once it is subscribed to changes, a moment after it is made.
  // If that moment falls between hiding and asking, the registry remembers the key as unknown for
  // its negative TTL: give it a short one.
  await waitFor(
    async () => {
      if ((await registry.authenticate(key)) === undefined) throw new Error('the key does not authenticate');
      const id = await redis.hget(index, hash);
      if (id === null) throw new Error('the key is not in the index');
      await redis.hdel(index, hash);
      try {
        return (await registry.authenticate(key)) !== undefined ? true : undefined;
      } finally {
        await redis.hset(index, hash, id);
      }
    },
    { timeoutMs: 5000, what: 'the registry to answer the key from memory' },
  );
}
