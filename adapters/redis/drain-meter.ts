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
  // Counted in-process and flushed once a second: one Redis transaction per finished write cost
  // more than the estimate is worth.
  const pending = new Map<string, { second: number; count: number }>();
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    timer = undefined;
    const batch = [...pending.entries()];
    pending.clear();
    if (batch.length === 0) return;
    const multi = redis.multi();
    for (const [connection, { second, count }] of batch) {
      multi.incrby(key(connection, second), count).expire(key(connection, second), WINDOW_SECONDS * 2);
    }
    // Fire-and-forget is acceptable here alone: a lost count skews an estimate, never a write.
    multi.exec().catch(() => undefined);
  };

  return {
    record(connection) {
      const second = Math.floor(Date.now() / 1000);
      const current = pending.get(connection);
      if (current !== undefined && current.second !== second) flush();
      const entry = pending.get(connection) ?? { second, count: 0 };
      entry.count++;
      pending.set(connection, entry);
      timer ??= setTimeout(flush, 1000).unref();
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
