/**
 * An in-process gateway on a random port, against the shared test Redis under a unique key
 * prefix, with the sandbox EHR mounted. Everything it created is removed by `stop()`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { startGateway, type Gateway, type Role } from '../../src/main';
import { projectRoot } from '../../src/project-root';
import { forgetCredential, readAdminKey, useCredential } from './credentials';
import { captureLogs } from './log-capture';
import { deletePrefix, TEST_REDIS_URL } from './redis';

export interface TestGateway {
  readonly gateway: Gateway;
  readonly url: string;
  readonly prefix: string;
  readonly logs: ReturnType<typeof captureLogs>;
  /** The admin client's key from `<dataDir>/admin.key`; `http()` sends it to this gateway. */
  readonly key: string;
  readonly dataDir: string;
  /** The sandbox FHIR base URL as the gateway reaches it. */
  readonly fhirBase: string;
  stop(): Promise<void>;
}

export async function startTestGateway(
  options: {
    role?: Role;
    overrides?: Record<string, unknown>;
    env?: Record<string, string>;
    /**
     * A key of a client already on this Redis: a gateway sharing an earlier one's key prefix finds
     * clients there, so it creates no admin client and writes no key file of its own.
     */
    key?: string;
  } = {},
): Promise<TestGateway> {
  const prefix = `t-${randomUUID().slice(0, 12)}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'continuum-test-'));
  const logs = captureLogs();
  const config = loadConfig({
    env: { REDIS_URL: TEST_REDIS_URL, ...options.env },
    cwd: dataDir,
    builtInMappingsDir: join(projectRoot(), 'mappings'),
    overrides: {
      server: { port: 0, host: '127.0.0.1' },
      dataDir,
      redis: { keyPrefix: prefix, requireDurability: false },
      logging: { level: 'debug' },
      sandbox: { patientCount: 220 },
      // Tests call the warm-up themselves when they need it; in the background it would add EHR reads.
      cache: { warmup: { enabled: false } },
      ...options.overrides,
      // No folder watching or sampled EHR reads unless a test asks: both would add reloads and
      // EHR calls to tests that count them.
      mappings: {
        watch: false,
        sampleRecords: 0,
        ...(options.overrides?.mappings as Record<string, unknown> | undefined),
      },
    },
  });
  const gateway = await startGateway({ config, role: options.role ?? 'all', logDestination: logs.stream });
  const key = options.key ?? readAdminKey(dataDir);
  useCredential(gateway.url, key);
  return {
    gateway,
    url: gateway.url,
    prefix,
    logs,
    key,
    dataDir,
    fhirBase: `${gateway.url}/sandbox/fhir`,
    stop: async () => {
      forgetCredential(gateway.url);
      await gateway.close();
      await deletePrefix(prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
