/**
 * The gateway a drill drives. Without `--url`, one started here on the embedded defaults (the
 * built-in sandbox EHR, a private Redis under a temporary data directory, or REDIS_URL under a key
 * prefix of its own), with the drill's event receiver as its one subscriber; it is stopped and its
 * data removed afterwards; the drill calls it as a client of its own, `drill`, with the scopes it
 * needs. With `--url`, a staging gateway, left as found.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRedisClientRegistry } from '../../../adapters/redis/client-registry';
import { createRedisConnection, targetFromUrl } from '../../../adapters/redis/redis-connections';
import { loadConfig } from '../../config/load-config';
import { startGateway } from '../../main';
import { projectRoot } from '../../project-root';
import type { Config } from '../../config/load-config';
import type { Scope } from '../../domain/access';
import { createLogger } from '../../observability/logger';
import { openRedis } from '../clients-command';

export interface DrillTarget {
  readonly url: string;
  readonly key: string;
  /** `in-process` when the drill started the gateway itself. */
  readonly kind: 'in-process' | 'remote';
  close(): Promise<void>;
}

export interface InProcessOptions {
  /** REDIS_URL, when the caller set one; absent: a private redis-server under the temporary data directory. */
  readonly redisUrl: string | undefined;
  readonly subscriber: { readonly url: string; readonly secret: string } | undefined;
  /** Where the gateway's own log lines go (they hold references, never PHI). */
  readonly logFile?: string;
}

export async function startInProcessTarget(options: InProcessOptions): Promise<DrillTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), 'continuum-drill-'));
  const prefix = `drill-${randomBytes(6).toString('hex')}`;
  const config = loadConfig({
    // The embedded defaults, whatever configuration file sits in the working directory.
    env: options.redisUrl !== undefined ? { REDIS_URL: options.redisUrl } : {},
    cwd: dataDir,
    builtInMappingsDir: join(projectRoot(), 'mappings'),
    overrides: {
      server: { port: 0, host: '127.0.0.1' },
      dataDir,
      // A rehearsal's writes are thrown away with its data directory; a shared Redis gets a prefix of its own.
      redis: options.redisUrl !== undefined ? { keyPrefix: prefix, requireDurability: false } : {},
      logging: { level: 'info' },
      ...(options.subscriber !== undefined
        ? {
            events: {
              subscribers: [
                {
                  kind: 'webhook',
                  name: 'drill',
                  url: options.subscriber.url,
                  secret: options.subscriber.secret,
                },
              ],
            },
          }
        : {}),
    },
  });
  const logStream = createWriteStream(options.logFile ?? join(dataDir, 'gateway.log'));
  const gateway = await startGateway({ config, role: 'all', logDestination: logStream });
  let key: string;
  try {
    key = await createDrillClient(config);
  } catch (error) {
    await gateway.close();
    throw error;
  }
  return {
    url: gateway.url,
    key,
    kind: 'in-process',
    async close() {
      await gateway.close();
      logStream.end();
      if (options.redisUrl !== undefined) await deletePrefix(options.redisUrl, prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function remoteTarget(url: string, key: string): DrillTarget {
  return { url, key, kind: 'remote', close: () => Promise.resolve() };
}

async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedisConnection(targetFromUrl(redisUrl), 'client', 'drill-cleanup');
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** What the drill's calls need, and nothing more: it never administers clients, audit or operations. */
export const DRILL_SCOPES: readonly Scope[] = [
  'patients:lookup',
  'patients:read',
  'patients:write',
  'appointments:read',
  'appointments:write',
  'calls:write',
  'operations:read',
  'events:admin',
  'sandbox:admin',
  'crisis:admin',
];

/**
 * A client of its own for the drill, registered as `continuum clients create` does, so the gateway's
 * audit trail tells the drill's calls from anyone else's.
 */
async function createDrillClient(config: Config): Promise<string> {
  const redis = await openRedis(config, createLogger({ level: 'silent' }));
  const registry = createRedisClientRegistry({
    redis: redis.client,
    prefix: redis.prefix,
    logger: createLogger({ level: 'silent' }),
  });
  try {
    const { key } = await registry.create({
      name: 'drill',
      tenant: config.auth.adminTenant,
      scopes: DRILL_SCOPES,
    });
    return key;
  } finally {
    await registry.close();
    await redis.close();
  }
}
