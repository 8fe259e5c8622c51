/**
 * Status samples in one sorted set per EHR connection, scored by the sample's interval. Several API
 * processes sample the same pipeline; the first sample of an interval is kept and the others are
 * dropped, and the set is trimmed by age and count in the same script, so it stays bounded even
 * when clocks or intervals disagree. The key expires when nobody samples any more.
 */
import type { Redis } from 'ioredis';
import type { BreakerState } from '../../src/domain/ports';
import type { StatusHistoryStore, StatusSample } from '../../src/domain/status-history';
import { luaScript } from './lua-script';

const RECORD = luaScript(`
if redis.call('ZCOUNT', KEYS[1], ARGV[1], ARGV[1]) > 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`);

const BREAKER_STATES: readonly string[] = ['closed', 'open', 'half-open'] satisfies BreakerState[];

function parseSample(raw: string): StatusSample | undefined {
  try {
    const value = JSON.parse(raw) as Record<string, unknown>;
    const numbers = ['at', 'backlog', 'failed', 'needsReview', 'drainPerSecond'] as const;
    if (!numbers.every((field) => typeof value[field] === 'number')) return undefined;
    if (typeof value.breaker !== 'string' || !BREAKER_STATES.includes(value.breaker)) return undefined;
    return value as unknown as StatusSample;
  } catch {
    return undefined;
  }
}

export function createRedisStatusHistory(options: {
  readonly redis: Redis;
  readonly prefix: string;
}): StatusHistoryStore {
  const { redis, prefix } = options;
  const key = (connection: string): string => `${prefix}:status-history:${connection}`;
  return {
    async record(connection, sample, { keepMs, maxSamples }) {
      const member = JSON.stringify({
        at: sample.at,
        backlog: sample.backlog,
        failed: sample.failed,
        needsReview: sample.needsReview,
        drainPerSecond: sample.drainPerSecond,
        breaker: sample.breaker,
      });
      const stored = await RECORD.run(
        redis,
        [key(connection)],
        [sample.at, member, sample.at - keepMs, maxSamples, keepMs],
      );
      return stored === 1;
    },
    async read(connection, sinceMs) {
      const raw = await redis.zrangebyscore(key(connection), sinceMs, '+inf');
      return raw.map(parseSample).filter((s): s is StatusSample => s !== undefined);
    },
  };
}
