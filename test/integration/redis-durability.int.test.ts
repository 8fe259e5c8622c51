/**
 * Start-up refuses a Redis that would silently lose accepted writes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { startGateway, StartupError } from '../../src/main';
import { projectRoot } from '../../src/project-root';
import { captureLogs } from '../support/log-capture';
import { startOwnRedis } from '../support/redis-server';

function configFor(url: string, requireDurability: boolean) {
  return loadConfig({
    env: {},
    cwd: mkdtempSync(join(tmpdir(), 'continuum-dur-')),
    builtInMappingsDir: join(projectRoot(), 'mappings'),
    overrides: {
      server: { port: 0, host: '127.0.0.1' },
      redis: { url, requireDurability },
      sandbox: { patientCount: 5 },
      logging: { level: 'silent' },
    },
  });
}

it('refuses a Redis without append-only persistence, and says how to fix it', async () => {
  const redis = await startOwnRedis(['--appendonly', 'no']);
  try {
    const start = startGateway({
      config: configFor(redis.url, true),
      role: 'all',
      logDestination: captureLogs().stream,
    });
    await expect(start).rejects.toThrow(StartupError);
    await expect(start).rejects.toThrow(/appendonly yes/);
  } finally {
    await redis.kill();
  }
});

it('refuses an evicting maxmemory-policy even when durability is waived', async () => {
  const redis = await startOwnRedis(['--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']);
  try {
    await expect(
      startGateway({
        config: configFor(redis.url, false),
        role: 'all',
        logDestination: captureLogs().stream,
      }),
    ).rejects.toThrow(/maxmemory-policy is "allkeys-lru"/);
  } finally {
    await redis.kill();
  }
});

it('starts on a Redis with AOF and noeviction', async () => {
  const redis = await startOwnRedis(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']);
  try {
    const gateway = await startGateway({
      config: configFor(redis.url, true),
      role: 'all',
      logDestination: captureLogs().stream,
    });
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(200);
    await gateway.close();
  } finally {
    await redis.kill();
  }
});
