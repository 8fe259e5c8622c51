/**
 * A gateway on a private AOF Redis that a test may freeze (SIGSTOP: the socket stays open and
 * nothing answers, the worst case for a producer) and thaw by PID. Registers its own beforeAll and
 * afterAll; the Redis is thawed before the stop even when a test failed while it was frozen.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/load-config';
import { forgetCredential, readAdminKey, useCredential } from './credentials';
import { startGateway, type Gateway } from '../../src/main';
import { projectRoot } from '../../src/project-root';
import { captureLogs } from './log-capture';
import { startOwnRedis, type OwnRedis } from './redis-server';

export interface FreezableRedisGateway {
  readonly redis: OwnRedis;
  readonly gateway: Gateway;
  readonly config: Config;
  freeze(): void;
  thaw(): void;
}

export function useFreezableRedisGateway(): () => FreezableRedisGateway {
  let rig: FreezableRedisGateway | undefined;
  beforeAll(async () => {
    const redis = await startOwnRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    const config = loadConfig({
      env: {},
      cwd: mkdtempSync(join(tmpdir(), 'continuum-freezable-')),
      builtInMappingsDir: join(projectRoot(), 'mappings'),
      overrides: {
        server: { port: 0, host: '127.0.0.1' },
        redis: { url: redis.url },
        queue: { enqueueTimeoutMs: 1000 },
        sandbox: { patientCount: 50 },
        logging: { level: 'warn' },
      },
    });
    const gateway = await startGateway({ config, role: 'all', logDestination: captureLogs().stream });
    useCredential(gateway.url, readAdminKey(config.dataDir));
    const signal = (name: NodeJS.Signals) => (): void => {
      if (redis.child.pid !== undefined && redis.child.exitCode === null) process.kill(redis.child.pid, name);
    };
    rig = { redis, gateway, config, freeze: signal('SIGSTOP'), thaw: signal('SIGCONT') };
  });
  afterAll(async () => {
    if (rig === undefined) return;
    rig.thaw();
    forgetCredential(rig.gateway.url);
    await rig.gateway.close();
    await rig.redis.kill();
  });
  return () => {
    if (rig === undefined) throw new Error('the gateway has not started');
    return rig;
  };
}
