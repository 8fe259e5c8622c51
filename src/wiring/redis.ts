/** The Redis a gateway runs on: the configured one or a private embedded one, checked for durability. */
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { checkRedisDurability } from '../../adapters/redis/durability-check';
import { startEmbeddedRedis, type RedisTarget } from '../../adapters/redis/embedded-redis';
import { createRedisConnection, targetFromUrl } from '../../adapters/redis/redis-connections';
import type { Config } from '../config/load-config';
import type { Logger } from '../domain/ports';
import { withDeadline } from '../domain/with-deadline';
import type { Closeables } from './closeables';
import { StartupError } from './startup-error';
import { embeddedMaxMemoryBytes } from './storage';

export interface RedisWiring {
  readonly target: RedisTarget | { readonly url: string };
  readonly embedded: boolean;
  /** Reads, stores and scripts. */
  readonly client: Redis;
  /** Queue producers: no offline queue, fails fast. */
  readonly producer: Redis;
  /** Blocking worker connections (`maxRetriesPerRequest: null`). */
  readonly worker: Redis;
  /** The hash-tagged key prefix every key of this gateway starts with. */
  readonly prefix: string;
}

export async function connectRedis(
  config: Config,
  logger: Logger,
  closeables: Closeables,
): Promise<RedisWiring> {
  let target: RedisTarget | { readonly url: string };
  let embedded = false;
  if (config.redis.url !== undefined) {
    target = targetFromUrl(config.redis.url);
  } else {
    const started = await startEmbeddedRedis({
      dataDir: config.dataDir,
      binary: config.redis.binary,
      logger,
      maxMemoryBytes: embeddedMaxMemoryBytes(config),
    });
    closeables.add('embedded-redis', 'embedded redis', () => started.stop());
    target = started.target;
    embedded = true;
  }

  const client = createRedisConnection(target, 'client', 'client');
  const producer = createRedisConnection(target, 'producer', 'producer');
  const worker = createRedisConnection(target, 'worker', 'worker');
  const all = [client, producer, worker];
  for (const connection of all) {
    connection.on('error', (error: Error) => {
      logger.warn({ err: error }, 'redis connection error');
    });
  }
  closeables.add('redis', 'redis connections', () =>
    Promise.all(
      all.map((c) =>
        c.quit().catch(() => {
          c.disconnect();
        }),
      ),
    ),
  );

  await client.ping().catch((error: unknown) => {
    throw new StartupError(`Redis did not answer: ${(error as Error).message}`);
  });
  // Without an offline queue the producer refuses commands until connected: a write arriving
  // right after start-up must not get a 503 for that.
  if (producer.status !== 'ready') {
    await withDeadline(once(producer, 'ready'), 10_000, 'the Redis producer connection').catch(() => {
      throw new StartupError('the Redis producer connection did not become ready');
    });
  }
  const durability = await checkRedisDurability(client, config.redis.requireDurability);
  if (durability.problems.length > 0) throw new StartupError(durability.problems.join(' '));
  if (durability.appendonly === false) {
    logger.warn(
      {},
      'Redis persistence is off (redis.requireDurability: false): a Redis restart loses queued writes',
    );
  }
  return { target, embedded, client, producer, worker, prefix: `{${config.redis.keyPrefix}}` };
}
