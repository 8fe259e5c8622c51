/**
 * Start-up refuses a Redis that would silently lose accepted writes.
 *
 * Every gateway a test starts, even one that should have been refused, and every redis-server are
 * stopped in afterEach: a failing assertion must not leave handles open and the runner waiting.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { startGateway, StartupError, type Gateway } from '../../src/main';
import { projectRoot } from '../../src/project-root';
import { captureLogs } from '../support/log-capture';
import { startOwnRedis, type OwnRedis } from '../support/redis-server';

const starts: Promise<Gateway>[] = [];
const redises: OwnRedis[] = [];

afterEach(async () => {
  const settled = await Promise.allSettled(starts.splice(0));
  for (const start of settled) if (start.status === 'fulfilled') await start.value.close();
  for (const redis of redises.splice(0)) await redis.kill();
});

async function ownRedis(args: string[]): Promise<OwnRedis> {
  const redis = await startOwnRedis(args);
  redises.push(redis);
  return redis;
}

function start(url: string, requireDurability: boolean): Promise<Gateway> {
  const config = loadConfig({
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
  const started = startGateway({ config, role: 'all', logDestination: captureLogs().stream });
  starts.push(started);
  return started;
}

it('refuses a Redis without append-only persistence, and says how to fix it', async () => {
  const redis = await ownRedis(['--appendonly', 'no']);
  const started = start(redis.url, true);
  await expect(started).rejects.toThrow(StartupError);
  await expect(started).rejects.toThrow(/appendonly yes/);
});

it('refuses an evicting maxmemory-policy even when durability is waived', async () => {
  const redis = await ownRedis(['--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru']);
  await expect(start(redis.url, false)).rejects.toThrow(/maxmemory-policy is "allkeys-lru"/);
});

it('starts on a Redis with AOF and noeviction', async () => {
  const redis = await ownRedis(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']);
  const gateway = await start(redis.url, true);
  const ready = await fetch(`${gateway.url}/readyz`);
  expect(ready.status).toBe(200);
});
