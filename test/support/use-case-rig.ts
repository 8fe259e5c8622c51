/**
 * The use cases as the gateway builds them (`buildUseCaseDeps`), on the shared test Redis under a
 * unique prefix and a sandbox EHR served on its own: no API server, no workers, no timers. A test
 * calls the use cases itself, as a worker or a route would.
 */
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandboxServer, type SandboxServer } from '../../adapters/ehr/sandbox';
import { loadConfig, type Config } from '../../src/config/load-config';
import { createLogger } from '../../src/observability/logger';
import { projectRoot } from '../../src/project-root';
import type { ConnectionContext, UseCaseDeps } from '../../src/use-cases/use-case-deps';
import { Closeables } from '../../src/wiring/closeables';
import { connectRedis, type RedisWiring } from '../../src/wiring/redis';
import { buildUseCaseDeps, type UseCaseRuntime } from '../../src/wiring/use-case-deps';
import { captureLogs } from './log-capture';
import { deletePrefix, TEST_REDIS_URL } from './redis';

export interface UseCaseRig {
  readonly config: Config;
  readonly deps: UseCaseDeps;
  readonly runtime: UseCaseRuntime;
  readonly connection: ConnectionContext;
  readonly prefix: string;
  readonly redis: RedisWiring;
  readonly logs: ReturnType<typeof captureLogs>;
  /** The sandbox FHIR base URL. */
  readonly fhirBase: string;
  stop(): Promise<void>;
}

export interface UseCaseRigOptions {
  /** Edits the default mapping profile's files before it loads: file name -> new text from old. */
  readonly editProfile?: Readonly<Record<string, (text: string) => string>>;
  /** Configuration on top of the rig's own (e.g. a connection's webhook scheme, server timeouts). */
  readonly overrides?: Record<string, unknown>;
}

export async function startUseCaseRig(options: UseCaseRigOptions = {}): Promise<UseCaseRig> {
  const prefix = `t-${randomUUID().slice(0, 12)}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'continuum-rig-'));
  const mappingsDir = join(dataDir, 'mappings');
  cpSync(join(projectRoot(), 'mappings'), mappingsDir, { recursive: true });
  for (const [file, edit] of Object.entries(options.editProfile ?? {})) {
    const path = join(mappingsDir, 'default', file);
    writeFileSync(path, edit(readFileSync(path, 'utf8')));
  }
  const sandbox: SandboxServer = await startSandboxServer({ port: 0, seed: 1, patientCount: 60 });
  const logs = captureLogs();
  const logger = createLogger({ level: 'debug', destination: logs.stream, base: { role: 'test' } });
  const config = loadConfig({
    env: { REDIS_URL: TEST_REDIS_URL },
    cwd: dataDir,
    builtInMappingsDir: mappingsDir,
    overrides: {
      dataDir,
      redis: { keyPrefix: prefix, requireDurability: false },
      cache: { warmup: { enabled: false } },
      ...options.overrides,
    },
  });
  const closeables = new Closeables(logger);
  try {
    const redis = await connectRedis(config, logger, closeables);
    const runtime = await buildUseCaseDeps(config, redis, {
      logger,
      closeables,
      sandboxPort: Number(new URL(sandbox.url).port),
    });
    const connection = runtime.deps.connections.get(config.defaultConnection);
    if (connection === undefined) throw new Error('no default connection');
    return {
      config,
      deps: runtime.deps,
      runtime,
      connection,
      prefix,
      redis,
      logs,
      fhirBase: sandbox.url,
      stop: async () => {
        await closeables.closeAll();
        await sandbox.close();
        await deletePrefix(prefix);
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await closeables.closeAll();
    await sandbox.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}
