import { Redis } from 'ioredis';

/** The shared Redis for integration tests (the machine's, or CI's): non-persistent, so tests set requireDurability: false. */
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Deletes every key under a test's hash-tagged prefix. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Every key under a test's prefix that matches `pattern`: SCAN to its end, as one call covers only part of a busy Redis. */
export async function keysUnder(prefix: string, pattern = '*'): Promise<string[]> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}${pattern}`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found.sort();
  } finally {
    redis.disconnect();
  }
}

export async function countKeys(prefix: string, pattern = '*'): Promise<number> {
  return (await keysUnder(prefix, pattern)).length;
}
