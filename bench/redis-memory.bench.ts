/**
 * Redis memory per queued write: `INFO memory` used_memory just before and just after the backlog
 * of BENCH_BACKLOG writes is accepted through the API (no worker running, so nothing is drained in
 * between), divided by the number of writes, as a multiple of one write's request body (its JSON
 * bytes). AOF growth per write is shown alongside (`INFO persistence` aof_current_size).
 *
 * Why the comparison is fair: the difference holds everything one more queued write keeps in Redis
 * in the product as it runs (the sealed operation record, its idempotency key, status index entry
 * and lane entry, and a BullMQ job for each lane's head), and nothing else changes meanwhile: the
 * phone index already holds the 200 patients, and the Redis is the benchmark's own.
 */
import type { Redis } from 'ioredis';
import { fmt, parseRedisInfo } from './bench-support';

export interface RedisMemorySnapshot {
  readonly usedMemory: number;
  readonly aofSize: number;
  readonly aofRewrites: number;
  readonly keys: number;
}

export async function redisMemorySnapshot(redis: Redis): Promise<RedisMemorySnapshot> {
  const memory = parseRedisInfo(await redis.info('memory'));
  const persistence = parseRedisInfo(await redis.info('persistence'));
  return {
    usedMemory: memory.used_memory ?? NaN,
    aofSize: persistence.aof_current_size ?? NaN,
    aofRewrites: (persistence.aof_rewrites ?? 0) + (persistence.aof_rewrite_in_progress ?? 0),
    keys: await redis.dbsize(),
  };
}

export interface KeySample {
  readonly pattern: string;
  readonly sampled: number;
  /** Mean `MEMORY USAGE` of the sampled keys, bytes. */
  readonly usage: number;
  /** Mean value length (`STRLEN`), bytes. */
  readonly valueBytes: number;
}

/**
 * Mean `MEMORY USAGE` and value length of up to `max` string keys matching `pattern` that have no
 * TTL (those of queued writes: finished ones carry the retention TTL): where a queued write's
 * bytes go. The patterns follow adapters/redis/operation-store.ts's key names; when those change the
 * sample is empty and the report says so.
 */
export async function sampleKeys(redis: Redis, pattern: string, max = 50): Promise<KeySample> {
  const sampled: string[] = [];
  let cursor = '0';
  for (let rounds = 0; rounds < 200 && sampled.length < max; rounds++) {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    for (const key of found) {
      if (sampled.length < max && (await redis.ttl(key)) === -1) sampled.push(key);
    }
    cursor = next;
    if (cursor === '0') break;
  }
  let usage = 0;
  let valueBytes = 0;
  for (const key of sampled) {
    usage += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    valueBytes += await redis.strlen(key);
  }
  return {
    pattern,
    sampled: sampled.length,
    usage: usage / Math.max(1, sampled.length),
    valueBytes: valueBytes / Math.max(1, sampled.length),
  };
}

export interface RedisMemoryResult {
  readonly writes: number;
  readonly bodyBytes: number;
  readonly bytesPerWrite: number;
  readonly aofBytesPerWrite: number;
  readonly keysPerWrite: number;
  readonly aofRewritten: boolean;
  readonly samples: readonly KeySample[];
}

export function redisMemoryResult(
  before: RedisMemorySnapshot,
  after: RedisMemorySnapshot,
  writes: number,
  bodyBytes: number,
  samples: readonly KeySample[],
): RedisMemoryResult {
  return {
    writes,
    bodyBytes,
    bytesPerWrite: (after.usedMemory - before.usedMemory) / writes,
    aofBytesPerWrite: (after.aofSize - before.aofSize) / writes,
    keysPerWrite: (after.keys - before.keys) / writes,
    aofRewritten: after.aofRewrites !== before.aofRewrites,
    samples,
  };
}

export function reportRedisMemory(r: RedisMemoryResult): string {
  const aof = r.aofRewritten
    ? 'AOF was rewritten meanwhile: growth not comparable'
    : `AOF grew ${fmt(r.aofBytesPerWrite, 0)} B per write`;
  const samples = r.samples.map((s) =>
    s.sampled === 0
      ? `  ${s.pattern}: no such keys (key names changed?)`
      : `  ${s.pattern.padEnd(22)}: ${fmt(s.usage, 0)} B each in Redis (value ${fmt(s.valueBytes, 0)} B), sampled ${s.sampled}`,
  );
  const known = r.samples.reduce((sum, s) => sum + (s.sampled > 0 ? s.usage : 0), 0);
  return [
    `Redis memory, ${r.writes} queued writes of ${r.bodyBytes} B JSON each`,
    `  used_memory grew ${fmt(r.bytesPerWrite, 0)} B per write (${fmt(r.keysPerWrite, 2)} keys per write); ${aof}`,
    ...samples,
    `  the rest (status index and lane entries, lane-head jobs, allocator): ${fmt(r.bytesPerWrite - known, 0)} B per write`,
    `  Redis memory per queued write = ${fmt(r.bytesPerWrite, 0)} bytes = ${fmt(r.bytesPerWrite / r.bodyBytes)}x its payload`,
  ].join('\n');
}
