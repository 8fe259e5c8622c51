/**
 * A real EHR never receives the sandbox's MRN system: a connection to an EHR other than a sandbox
 * whose mapping profile names it is refused at start-up, with the connection, the profile and its
 * file in the message. The built-in sandbox (zero set-up) and a sandbox run elsewhere keep working.
 */
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { startGateway, type Gateway } from '../../src/main';
import { projectRoot } from '../../src/project-root';
import { retargetMrnSystem } from '../support/profile-copy';
import { captureLogs } from '../support/log-capture';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';

jest.setTimeout(60000);

const SANDBOX_MRN_SYSTEM = 'http://sandbox.continuum.example/mrn';
/** Loopback, and nothing listens there: start-up must decide without asking the EHR. */
const EHR_URL = 'http://127.0.0.1:9/fhir/R4';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'continuum-mrn-'));
  // An integration engineer's copy of the default profile, with the EHR's own MRN system.
  const mappings = join(work, 'mappings');
  cpSync(join(projectRoot(), 'mappings', 'default'), join(mappings, 'default'), { recursive: true });
  cpSync(join(projectRoot(), 'mappings', 'default'), join(mappings, 'acme'), { recursive: true });
  retargetMrnSystem(join(mappings, 'acme'), 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.17');
  // A half-done copy: its own system added, the sandbox's left in.
  cpSync(join(mappings, 'default'), join(mappings, 'half'), { recursive: true });
  const halfProfile = join(mappings, 'half', 'profile.yaml');
  writeFileSync(
    halfProfile,
    readFileSync(halfProfile, 'utf8').replace(
      `- ${SANDBOX_MRN_SYSTEM}`,
      `- urn:oid:2.16.840.1.113883.3.7\n      - ${SANDBOX_MRN_SYSTEM}`,
    ),
  );
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Starts a gateway on the given file content; it is stopped and its keys removed whatever happens. */
async function tryStart(overrides: Record<string, unknown>): Promise<{ error?: Error; started: boolean }> {
  const prefix = `t-${randomUUID().slice(0, 12)}`;
  const dataDir = mkdtempSync(join(work, 'data-'));
  let gateway: Gateway | undefined;
  try {
    const config = loadConfig({
      env: { REDIS_URL: TEST_REDIS_URL },
      cwd: dataDir,
      builtInMappingsDir: join(projectRoot(), 'mappings'),
      overrides: {
        server: { port: 0, host: '127.0.0.1' },
        dataDir,
        redis: { keyPrefix: prefix, requireDurability: false },
        cache: { warmup: { enabled: false } },
        mappings: { dir: join(work, 'mappings') },
        ...overrides,
      },
    });
    gateway = await startGateway({ config, role: 'api', logDestination: captureLogs().stream });
    return { started: true };
  } catch (error) {
    return { error: error as Error, started: false };
  } finally {
    await gateway?.close();
    await deletePrefix(prefix);
  }
}

it('refuses a real EHR on the default profile, naming the connection, the profile and the file', async () => {
  const { started, error } = await tryStart({ connections: { epic: { baseUrl: EHR_URL } } });
  expect(started).toBe(false);
  expect(error?.name).toBe('MappingProfileError');
  const message = error?.message ?? '';
  expect(message).toContain(join(work, 'mappings', 'default', 'profile.yaml'));
  expect(message).toContain('identifiers.mrn.systems');
  expect(message).toContain('connections.epic');
  expect(message).toContain('profile "default"');
  expect(message).toContain(SANDBOX_MRN_SYSTEM);
});

it("refuses a profile that still lists the sandbox's system beside the EHR's own", async () => {
  const { started, error } = await tryStart({
    connections: { epic: { baseUrl: EHR_URL, mappingProfile: 'half' } },
  });
  expect(started).toBe(false);
  expect(error?.message).toContain(join(work, 'mappings', 'half', 'profile.yaml'));
  expect(error?.message).toContain('profile "half"');
});

it('starts a real EHR on a profile naming its own MRN system', async () => {
  const result = await tryStart({ connections: { epic: { baseUrl: EHR_URL, mappingProfile: 'acme' } } });
  expect(result.error).toBeUndefined();
  expect(result.started).toBe(true);
});

it('starts with zero set-up (the built-in sandbox on the default profile), and a sandbox run elsewhere when declared', async () => {
  expect(await tryStart({})).toEqual({ started: true });
  const elsewhere = await tryStart({
    sandbox: { enabled: true },
    connections: {
      sandbox: {},
      demo: { baseUrl: 'http://127.0.0.1:9/sandbox/fhir', sandboxEhr: true },
    },
  });
  expect(elsewhere.error).toBeUndefined();
  expect(elsewhere.started).toBe(true);
});
