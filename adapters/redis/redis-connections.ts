/**
 * Redis connections by role. BullMQ workers need `maxRetriesPerRequest: null` or they die for good
 * on a Redis blip; producers must fail fast (`enableOfflineQueue: false`) so an API write never
 * hangs; everything reconnects on READONLY/LOADING (failover, AOF reload).
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from './embedded-redis';

export type RedisRole = 'worker' | 'producer' | 'client' | 'subscriber';

export function targetFromUrl(url: string): RedisTarget | { readonly url: string } {
  if (url.startsWith('unix://')) return { path: url.slice('unix://'.length) };
  if (url.startsWith('/')) return { path: url };
  return { url };
}

function reconnectOnError(error: Error): boolean | 1 | 2 {
  // 2 = reconnect and resend the failed command.
  return /READONLY|LOADING/.test(error.message) ? 2 : false;
}

export function createRedisConnection(
  target: RedisTarget | { readonly url: string },
  role: RedisRole,
  name: string,
): Redis {
  const options: RedisOptions = {
    connectionName: `continuum:${name}`,
    keepAlive: 10000,
    reconnectOnError,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    // A subscriber's SUBSCRIBE waits out a Redis blip instead of failing; ioredis subscribes again
    // after every reconnect.
    ...(role === 'worker' || role === 'subscriber' ? { maxRetriesPerRequest: null } : {}),
    ...(role === 'producer' ? { enableOfflineQueue: false, maxRetriesPerRequest: 1 } : {}),
    ...(role === 'client' ? { maxRetriesPerRequest: 2 } : {}),
  };
  if ('url' in target) return new Redis(target.url, options);
  return new Redis({ ...target, ...options });
}
