/**
 * Finished writes per second per connection over the last minute, counted in Redis so every
 * worker process contributes: the basis of the drain ETA on /v1/status.
 */
import type { Redis } from 'ioredis';

const WINDOW_SECONDS = 60;

export interface DrainMeter {
  record(connection: string): void;
  ratePerSecond(connection: string): Promise<number>;
}

export function createDrainMeter(redis: Redis, prefix: string): DrainMeter {
  const key = (connection: string, second: number): string => `${prefix}:drained:${connection}:${second}`;
  return {
    record(connection) {
      const second = Math.floor(Date.now() / 1000);
      // Fire-and-forget is acceptable here alone: a lost count skews an estimate, never a write.
      redis
        .multi()
        .incr(key(connection, second))
        .expire(key(connection, second), WINDOW_SECONDS * 2)
        .exec()
        .catch(() => undefined);
    },
    async ratePerSecond(connection) {
      const now = Math.floor(Date.now() / 1000);
      const keys = Array.from({ length: WINDOW_SECONDS }, (_v, i) => key(connection, now - 1 - i));
      const values = await redis.mget(...keys);
      const total = values.reduce((sum, v) => sum + Number(v ?? 0), 0);
      return total / WINDOW_SECONDS;
    },
  };
}
