/** A client of a test gateway with only the scopes a test names: its Authorization header. */
import { Redis } from 'ioredis';
import { createRedisClientRegistry } from '../../adapters/redis/client-registry';
import type { Scope } from '../../src/domain/access';
import { createLogger } from '../../src/observability/logger';
import { TEST_REDIS_URL } from './redis';

export async function scopedClient(
  gatewayPrefix: string,
  name: string,
  scopes: readonly Scope[],
  tenant = 'default',
): Promise<Record<string, string>> {
  const { key } = await scopedClientKey(gatewayPrefix, name, scopes, tenant);
  return { authorization: `Bearer ${key}` };
}

/** The same client as its id and key, for Basic credentials (what a browser is asked for). */
export async function scopedClientKey(
  gatewayPrefix: string,
  name: string,
  scopes: readonly Scope[],
  tenant = 'default',
): Promise<{ readonly id: string; readonly key: string }> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  const registry = createRedisClientRegistry({
    redis,
    prefix: `{${gatewayPrefix}}`,
    logger: createLogger({ level: 'silent' }),
  });
  try {
    const { client, key } = await registry.create({ name, tenant, scopes });
    return { id: client.id, key };
  } finally {
    await registry.close();
    redis.disconnect();
  }
}
