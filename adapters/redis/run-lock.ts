/**
 * A lease in Redis that lets one process among many run a periodic job per interval (cache
 * warm-up): claimed with SET NX PX, never released early, so a second process that starts its
 * timer a moment later finds the interval taken.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RunLock } from '../../src/domain/ports';

export function createRedisRunLock(options: { readonly redis: Redis; readonly prefix: string }): RunLock {
  return {
    async claim(name, ms) {
      const claimed = await options.redis.set(`${options.prefix}:${name}`, randomUUID(), 'PX', ms, 'NX');
      return claimed === 'OK';
    },
  };
}
