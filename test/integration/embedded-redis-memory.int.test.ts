/**
 * The embedded Redis (`npm start` without REDIS_URL) is bounded: started with the configured
 * `storage.maxMemoryBytes` as its `maxmemory`, so it refuses what it cannot hold instead of growing
 * until the machine kills it, and the gateway's memory reserve has a limit to measure against.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '../../adapters/redis/embedded-redis';
import { createLogger } from '../../src/observability/logger';
import { captureLogs } from '../support/log-capture';

it('starts the embedded Redis with the given maxmemory and noeviction', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'continuum-embedded-'));
  const embedded = await startEmbeddedRedis({
    dataDir,
    binary: 'redis-server',
    logger: createLogger({ level: 'silent', destination: captureLogs().stream }),
    maxMemoryBytes: 64 * 1024 * 1024,
  });
  const redis = new Redis({ ...embedded.target, maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('memory');
    expect(/^maxmemory:(\d+)/m.exec(info)?.[1]).toBe(String(64 * 1024 * 1024));
    expect(/^maxmemory_policy:(\S+)/m.exec(info)?.[1]).toBe('noeviction');
  } finally {
    redis.disconnect();
    await embedded.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
