/**
 * A Redis that evicts keys or keeps nothing on disk silently loses accepted writes, and BullMQ only
 * warns about it. Continuum refuses to run writes on such a Redis unless told otherwise.
 */
import type { Redis } from 'ioredis';

export interface DurabilityReport {
  readonly appendonly: boolean | undefined;
  readonly maxmemoryPolicy: string | undefined;
  readonly problems: readonly string[];
}

function parseInfo(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) map.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return map;
}

export async function checkRedisDurability(
  redis: Redis,
  requireDurability: boolean,
): Promise<DurabilityReport> {
  // INFO works where CONFIG is disabled (managed Redis services rename or block CONFIG).
  const info = parseInfo(await redis.info());
  const aof = info.get('aof_enabled');
  const appendonly = aof === undefined ? undefined : aof === '1';
  const maxmemoryPolicy = info.get('maxmemory_policy');
  const problems: string[] = [];
  if (maxmemoryPolicy !== undefined && maxmemoryPolicy !== 'noeviction') {
    problems.push(
      `Redis maxmemory-policy is "${maxmemoryPolicy}": it may evict queued writes. Set maxmemory-policy noeviction.`,
    );
  }
  if (requireDurability && appendonly === false) {
    problems.push(
      'Redis has append-only persistence off (appendonly no): a Redis restart would lose queued writes. ' +
        'Set appendonly yes, or set redis.requireDurability: false to accept that risk.',
    );
  }
  return { appendonly, maxmemoryPolicy, problems };
}
