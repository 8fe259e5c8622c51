/**
 * `continuum clients` as an operator runs it (the built CLI, `npm run build` first), on the Redis a
 * gateway uses. What it does is checked through a registry in this process, as a running gateway
 * would see it: the printed key authenticates, a revocation reaches a key this process had cached.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createRedisClientRegistry } from '../../adapters/redis/client-registry';
import { startEmbeddedRedis } from '../../adapters/redis/embedded-redis';
import type { ClientRegistry } from '../../src/domain/access';
import { createLogger } from '../../src/observability/logger';
import { CLI, cleanEnv } from '../support/child-gateway';
import { waitUntilCached } from '../support/client-registry-probe';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';
import { waitFor } from '../support/wait-for';

jest.setTimeout(90000);

const KEY = /ck_[A-Za-z0-9_-]{43}/g;
const logger = createLogger({ level: 'silent' });

let workdir: string;
let configFile: string;
let prefixName: string;
let prefix: string;
let redis: Redis;
let registry: ClientRegistry;

beforeAll(() => {
  workdir = mkdtempSync(join(tmpdir(), 'continuum-clients-'));
  prefixName = `test-clients-cli-${randomUUID()}`;
  prefix = `{${prefixName}}`;
  configFile = join(workdir, 'continuum.config.yaml');
  writeFileSync(
    configFile,
    [
      'redis:',
      `  keyPrefix: ${prefixName}`,
      'tenants:',
      '  north:',
      '    connections: [sandbox]',
      '  south:',
      '    connections: [sandbox]',
      'auth:',
      '  adminTenant: north',
      '',
    ].join('\n'),
  );
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  // A probe hides a key for a moment (client-registry-probe.ts): do not remember that for long.
  registry = createRedisClientRegistry({ redis, prefix, logger, cache: { negativeTtlMs: 100 } });
});

afterAll(async () => {
  await registry.close();
  redis.disconnect();
  await deletePrefix(prefixName);
  rmSync(workdir, { recursive: true, force: true });
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI; a run that hangs is killed by the timeout and fails the test. */
function cli(args: string[], env: NodeJS.ProcessEnv = cleanEnv({}), timeout = 30000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'clients', ...args],
      {
        cwd: workdir,
        env: { REDIS_URL: TEST_REDIS_URL, CONTINUUM_CONFIG: configFile, ...env },
        timeout,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function keysIn(text: string): string[] {
  return text.match(KEY) ?? [];
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

it('create prints the id and the key once, on stdout; the key authenticates as that client', async () => {
  const run = await cli([
    'create',
    '--name',
    'genesys-prod',
    '--tenant',
    'north',
    '--scopes',
    'patients:read,calls:write',
  ]);
  expect(run).toMatchObject({ code: 0, stderr: '' });
  const keys = keysIn(run.stdout);
  expect(keys).toHaveLength(1);
  expect(run.stdout).toMatch(/will not be shown again/);
  const id = /cl_[0-9a-f]{24}/.exec(run.stdout)?.[0];
  expect(await registry.authenticate(keys[0]!)).toMatchObject({
    id,
    name: 'genesys-prod',
    tenant: 'north',
    scopes: ['patients:read', 'calls:write'],
  });

  const json = await cli([
    'create',
    '--name',
    'ivr',
    '--tenant',
    'south',
    '--scopes',
    'appointments:read',
    '--json',
  ]);
  expect(json.code).toBe(0);
  const created = JSON.parse(json.stdout);
  expect(Object.keys(created).sort()).toEqual(['id', 'key', 'name', 'scopes', 'tenant']);
  expect(await registry.authenticate(created.key, created.id)).toMatchObject({
    name: 'ivr',
    tenant: 'south',
  });
});

it('list shows every client with its tenant, scopes and keys’ dates, never a key', async () => {
  const created = JSON.parse(
    (await cli(['create', '--name', 'listed', '--tenant', 'north', '--scopes', 'operations:read', '--json']))
      .stdout,
  );
  const text = await cli(['list']);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(new RegExp(`^${created.id}\\s+listed\\s+north\\s+operations:read\\s`, 'm'));
  const json = await cli(['list', '--json']);
  expect(json.code).toBe(0);
  const listed = JSON.parse(json.stdout).clients.find((c: { id: string }) => c.id === created.id);
  expect(listed).toEqual({
    id: created.id,
    name: 'listed',
    tenant: 'north',
    scopes: ['operations:read'],
    createdAt: expect.any(String),
    revokedAt: null,
    keys: [{ createdAt: expect.any(String), expiresAt: null }],
  });
  for (const output of [text.stdout, json.stdout]) {
    expect(keysIn(output)).toEqual([]);
    expect(output).not.toContain(created.key.slice(3));
    expect(output).not.toContain(sha256(created.key));
  }
});

it('revoke: this process refuses the key it had cached as valid within a second', async () => {
  const created = JSON.parse(
    (await cli(['create', '--name', 'to-revoke', '--tenant', 'north', '--scopes', 'calls:write', '--json']))
      .stdout,
  );
  await waitUntilCached(registry, redis, prefix, created.key);

  const run = await cli(['revoke', 'to-revoke']);
  const exited = Date.now();
  expect(run.code).toBe(0);
  expect(run.stdout).toContain(`Revoked client ${created.id}`);
  await waitFor(async () => ((await registry.authenticate(created.key)) === undefined ? true : undefined), {
    timeoutMs: 1000,
    intervalMs: 5,
    what: 'the revoked key to be refused',
  });
  // The CLI published before it exited, so this is at most the delay past that point.
  console.log(`revoked key refused ${Date.now() - exited} ms after the CLI exited`);

  const listed = JSON.parse((await cli(['list', '--json'])).stdout).clients.find(
    (c: { id: string }) => c.id === created.id,
  );
  expect(listed).toMatchObject({ revokedAt: expect.any(String), keys: [] });
});

it('rotate prints a new key once; the old one keeps its grace, or stops at once with --grace 0', async () => {
  const first = JSON.parse(
    (await cli(['create', '--name', 'rotating', '--tenant', 'north', '--scopes', 'patients:read', '--json']))
      .stdout,
  ).key as string;
  await waitUntilCached(registry, redis, prefix, first);

  const graced = await cli(['rotate', 'rotating', '--grace', '90m']);
  expect(graced.code).toBe(0);
  const [second, ...more] = keysIn(graced.stdout);
  expect(more).toEqual([]);
  expect(second).not.toBe(first);
  expect(graced.stdout).toMatch(/will not be shown again/);
  expect(graced.stdout).toMatch(/previous key keeps working until \d{4}-\d\d-\d\dT/);
  expect(await registry.authenticate(second!)).toBeDefined();
  expect(await registry.authenticate(first)).toBeDefined();

  const cut = await cli(['rotate', 'rotating', '--grace', '0', '--json']);
  expect(cut.code).toBe(0);
  const third = JSON.parse(cut.stdout).key as string;
  await waitFor(
    async () =>
      (await registry.authenticate(first)) === undefined &&
      (await registry.authenticate(second!)) === undefined
        ? true
        : undefined,
    { timeoutMs: 1000, what: 'the previous keys to be refused' },
  );
  expect(await registry.authenticate(third)).toMatchObject({ name: 'rotating' });
});

it('usage and validation errors exit 2 with one line saying what is wrong (then the usage, for a usage mistake), and change nothing', async () => {
  await cli(['create', '--name', 'taken', '--tenant', 'north', '--scopes', 'patients:read']);
  const before = JSON.stringify(await registry.list());
  const cases: string[][] = [
    ['frobnicate'],
    ['create', '--name', 'x'],
    ['create', '--name', 'x', '--tenant', 'nowhere', '--scopes', 'patients:read'],
    ['create', '--name', 'Bad Name', '--tenant', 'north', '--scopes', 'patients:read'],
    ['create', '--name', 'x', '--tenant', 'north', '--scopes', 'patients:reed'],
    ['create', '--name', 'taken', '--tenant', 'north', '--scopes', 'patients:read'],
    ['create', '--name', 'x', '--tenant', 'north', '--scopes', 'patients:read', '--grace', '1h'],
    ['rotate', 'taken', '--grace', '10'],
    ['rotate', 'taken', '--grace', 'soon'],
    ['revoke'],
    ['revoke', 'taken', 'other'],
    ['list', '--bogus'],
  ];
  // One at a time: a dozen Node start-ups at once starve a 2-core machine past the run timeout.
  for (const args of cases) {
    const run = await cli(args);
    expect({ args, code: run.code, stdout: run.stdout }).toEqual({ args, code: 2, stdout: '' });
    // One line says what is wrong; a usage mistake is followed by the usage, a bad value is not.
    const [first, ...rest] = run.stderr.trimEnd().split('\n');
    expect(first).not.toMatch(/^\s*at |Error:/);
    expect(first?.length).toBeGreaterThan(0);
    if (rest.length > 0) expect(rest[0]).toBe('Usage:');
  }
  expect(JSON.stringify(await registry.list())).toBe(before);

  // Well-formed, but nothing to act on: not a usage error.
  const missing = await cli(['revoke', 'nobody']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('no client with id or name "nobody"');

  const help = await cli(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('continuum clients rotate ID_OR_NAME');
});

it('without REDIS_URL it uses the embedded Redis: stops one it started, never one a gateway runs', async () => {
  const socketAnswers = async (dataDir: string): Promise<boolean> => {
    const probe = new Redis({
      path: join(dataDir, 'redis', 'redis.sock'),
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return true;
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  };
  const embeddedEnv = (dataDir: string): NodeJS.ProcessEnv =>
    cleanEnv({ CONTINUUM_CONFIG: configFile, CONTINUUM_DATA_DIR: dataDir, REDIS_URL: '' });

  // Nothing running: it starts a redis-server on the data directory, and stops it when done.
  const alone = join(workdir, 'alone');
  const created = await cli(
    ['create', '--name', 'embedded', '--tenant', 'north', '--scopes', 'patients:read', '--json'],
    embeddedEnv(alone),
  );
  expect(created).toMatchObject({ code: 0, stderr: '' });
  expect(await socketAnswers(alone)).toBe(false);
  // The append-only file kept it for the next start.
  const listed = await cli(['list', '--json'], embeddedEnv(alone));
  expect(JSON.parse(listed.stdout).clients.map((c: { name: string }) => c.name)).toEqual(['embedded']);
  expect(await socketAnswers(alone)).toBe(false);

  // A gateway's embedded Redis is running: it is adopted, used, and left running.
  const shared = join(workdir, 'shared');
  const gatewayRedis = await startEmbeddedRedis({ dataDir: shared, binary: 'redis-server', logger });
  try {
    const run = await cli(
      ['create', '--name', 'adopted', '--tenant', 'north', '--scopes', 'patients:read', '--json'],
      embeddedEnv(shared),
    );
    expect(run.code).toBe(0);
    expect(await socketAnswers(shared)).toBe(true);
    const direct = new Redis({ ...gatewayRedis.target, maxRetriesPerRequest: 1 });
    try {
      const { key } = JSON.parse(run.stdout);
      expect(await direct.hget(`${prefix}:clients:keys`, sha256(key))).toBe(JSON.parse(run.stdout).id);
    } finally {
      direct.disconnect();
    }
  } finally {
    await gatewayRedis.stop();
  }
});
