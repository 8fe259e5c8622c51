/**
 * Redis's memory, read with INFO memory on an interval and kept: writes ask the last reading, so a
 * busy gateway costs Redis one INFO a second, not one per write. INFO works where CONFIG is
 * disabled (managed Redis services rename or block CONFIG). A reading that fails keeps the last
 * one: with Redis away, writes are refused by the store anyway.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../src/domain/ports';
import { UNLIMITED_READING, type StorageReading } from '../../src/domain/storage-limits';

export interface MemoryGaugeOptions {
  readonly redis: Redis;
  readonly intervalMs: number;
  /** The limit to use when Redis has none, or a lower one than Redis's own. */
  readonly maxMemoryBytes: number | undefined;
  /** Memory kept for draining; absent: `headroomPercent` of the limit. */
  readonly headroomBytes: number | undefined;
  readonly headroomPercent: number;
  readonly logger: Logger;
}

export interface MemoryGauge {
  /** The last reading; before the first one, a reading that refuses nothing. */
  current(): StorageReading;
  /** Reads now (start-up, tests); the interval keeps reading after that. */
  refresh(): Promise<StorageReading>;
  start(): void;
  stop(): void;
}

function field(info: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:(\\d+)\\s*$`, 'm').exec(info);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** The reading for these numbers: pure, so the rule is in one place. */
export function storageReading(
  usedBytes: number,
  redisMaxBytes: number,
  options: Pick<MemoryGaugeOptions, 'maxMemoryBytes' | 'headroomBytes' | 'headroomPercent'>,
  at: Date,
): StorageReading {
  const limits = [redisMaxBytes, options.maxMemoryBytes ?? 0].filter((n) => n > 0);
  if (limits.length === 0) return { ...UNLIMITED_READING, usedBytes, readAt: at.toISOString() };
  const limitBytes = Math.min(...limits);
  const reservedBytes = Math.min(
    limitBytes,
    options.headroomBytes ?? Math.round((limitBytes * options.headroomPercent) / 100),
  );
  const headroomBytes = Math.max(0, limitBytes - usedBytes);
  return {
    usedBytes,
    limitBytes,
    headroomBytes,
    reservedBytes,
    acceptingWrites: headroomBytes > reservedBytes,
    readAt: at.toISOString(),
  };
}

export function createMemoryGauge(options: MemoryGaugeOptions): MemoryGauge {
  let last: StorageReading = UNLIMITED_READING;
  let timer: NodeJS.Timeout | undefined;
  let reading: Promise<StorageReading> | undefined;

  const read = async (): Promise<StorageReading> => {
    const info = await options.redis.info('memory');
    const used = field(info, 'used_memory');
    if (used === undefined) return last;
    const next = storageReading(used, field(info, 'maxmemory') ?? 0, options, new Date());
    if (next.acceptingWrites !== last.acceptingWrites && last.readAt !== null) {
      options.logger.warn(
        { usedBytes: next.usedBytes, limitBytes: next.limitBytes, reservedBytes: next.reservedBytes },
        next.acceptingWrites
          ? 'write store memory is below its reserve again: new writes are accepted'
          : 'write store memory reached its reserve: new writes are refused (STORAGE_FULL) while queued ones drain',
      );
    }
    last = next;
    return next;
  };

  const refresh = (): Promise<StorageReading> => {
    // One INFO in flight at a time, however many ask.
    reading ??= read()
      .catch((error: unknown) => {
        options.logger.debug(
          { reason: error instanceof Error ? error.message : 'unknown' },
          'write store memory not read; keeping the last reading',
        );
        return last;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };

  return {
    current: () => last,
    refresh,
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => {
        void refresh();
      }, options.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
