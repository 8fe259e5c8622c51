/**
 * `continuum audit verify|export` as a compliance officer runs them (the built CLI). Records are
 * written as a gateway writes them (its audit store, the data directory's key) and as the CLI
 * records client administration; then one record is changed and others deleted in Redis, and
 * `verify` must name each.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createRedisAuditStore } from '../../adapters/redis/audit-store';
import { createRecordCipher, loadOrCreateKey } from '../../adapters/redis/record-cipher';
import type { AuditStore, NewAuditRecord } from '../../src/domain/audit';
import { CLI, cleanEnv } from '../support/child-gateway';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';

jest.setTimeout(90000);

let workdir: string;
let configFile: string;
let prefixName: string;
let redis: Redis;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        cwd: workdir,
        env: { ...cleanEnv({}), REDIS_URL: TEST_REDIS_URL, CONTINUUM_CONFIG: configFile },
        timeout: 30000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function gatewayStore(stream: string): AuditStore {
  const key = loadOrCreateKey(undefined, join(workdir, 'data'));
  const cipher = createRecordCipher(key);
  return createRedisAuditStore({
    redis,
    appendRedis: redis,
    prefix: `{${prefixName}}`,
    key,
    blind: (v) => cipher.blind(v),
    stream,
    retentionMs: 90 * 86_400_000,
    tenantsFor: (r) => [r.tenant ?? 'north'],
    deadlineMs: 5000,
  });
}

const read = (i: number): NewAuditRecord => ({
  recorded: new Date().toISOString(),
  kind: 'patient.read',
  action: 'R',
  subtype: 'read',
  outcome: 0,
  channel: 'api',
  client: 'cl_0123456789abcdef01234567',
  tenant: 'north',
  agent: `agent-${i % 3}`,
  patients: [`Patient/pat-${String(i).padStart(4, '0')}`],
  requestId: `req-${i}`,
});

const streamKey = (name: string): string => `{${prefixName}}:audit:s:${name}`;

async function verify(): Promise<{ code: number; result: any }> {
  const run = await cli(['audit', 'verify', '--json']);
  return { code: run.code, result: run.stdout === '' ? undefined : JSON.parse(run.stdout) };
}

beforeAll(() => {
  workdir = mkdtempSync(join(tmpdir(), 'continuum-audit-cli-'));
  mkdirSync(join(workdir, 'data'));
  prefixName = `test-audit-cli-${randomUUID()}`;
  configFile = join(workdir, 'continuum.config.yaml');
  writeFileSync(
    configFile,
    [
      `dataDir: ${join(workdir, 'data')}`,
      'redis:',
      `  keyPrefix: ${prefixName}`,
      'tenants:',
      '  north:',
      '    connections: [sandbox]',
      'auth:',
      '  adminTenant: north',
      '',
    ].join('\n'),
  );
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
});

afterAll(async () => {
  redis.disconnect();
  await deletePrefix(prefixName);
  rmSync(workdir, { recursive: true, force: true });
});

it('verifies an intact trail, exports it as AuditEvents, and names a changed and a deleted record', async () => {
  // Client administration from the CLI is recorded by the CLI itself.
  const created = await cli([
    'clients',
    'create',
    '--name',
    'desk',
    '--tenant',
    'north',
    '--scopes',
    'patients:read',
    '--json',
  ]);
  expect(created.code).toBe(0);
  const clientId = (JSON.parse(created.stdout) as { id: string }).id;
  expect((await cli(['clients', 'revoke', clientId])).code).toBe(0);

  const first = gatewayStore('gateway-a');
  const second = gatewayStore('gateway-b');
  for (let i = 0; i < 20; i++) await first.append(read(i));
  for (let i = 0; i < 20; i++) await second.append(read(100 + i));

  const intact = await verify();
  expect(intact.code).toBe(0);
  expect(intact.result).toMatchObject({ streams: 4, records: 42, problems: [] });

  const exported = await cli(['audit', 'export']);
  expect(exported.code).toBe(0);
  const events = exported.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(events).toHaveLength(42);
  for (const event of events) expect(event.resourceType).toBe('AuditEvent');
  const administration = events.filter((e) => /^client\./.test(e.subtype[1].code));
  expect(administration.map((e) => e.subtype[1].code)).toEqual(['client.created', 'client.revoked']);
  for (const event of administration) {
    expect(event.entity[0].what.reference).toBe(`Client/${clientId}`);
    expect(event.agent[0].who.identifier.value).toMatch(/^os:/);
  }
  const times = events.map((e) => String(e.recorded));
  expect([...times].sort()).toEqual(times);

  // Change one record in place: the stream rewritten with the same ids, one patient swapped.
  const entries = (await redis.xrange(streamKey('gateway-a'), '-', '+')) as [string, string[]][];
  const changedId = entries[7]![0];
  await redis.del(streamKey('gateway-a'));
  for (const [id, fields] of entries) {
    const copy = [...fields];
    if (id === changedId) copy[1] = copy[1]!.replace('pat-0007', 'pat-0999');
    await redis.xadd(streamKey('gateway-a'), id, ...copy);
  }
  // Delete one record of the other stream, and its last one.
  const others = (await redis.xrange(streamKey('gateway-b'), '-', '+')) as [string, string[]][];
  await redis.xdel(streamKey('gateway-b'), others[12]![0]);

  const tampered = await verify();
  expect(tampered.code).toBe(3);
  const problems = tampered.result.problems as { stream: string; entry: string; problem: string }[];
  expect(problems).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ stream: 'gateway-a', entry: changedId, problem: 'changed' }),
      expect.objectContaining({ stream: 'gateway-b', entry: others[13]![0], problem: 'missing-before' }),
    ]),
  );
  expect(problems).toHaveLength(2);

  const human = await cli(['audit', 'verify']);
  expect(human.stdout).toContain(`BROKEN gateway-a at ${changedId}`);
  console.log(`tamper: changed record named ${changedId}; deleted record found before ${others[13]![0]}`);
  await redis.del(streamKey('gateway-b'));
  for (const [id, fields] of others.slice(0, -1)) await redis.xadd(streamKey('gateway-b'), id, ...fields);
  // A deleted tail shows too (the other deletion mended): the head the writer noted is gone.
  const tail = await verify();
  expect(tail.result.problems).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ stream: 'gateway-b', entry: others[19]![0], problem: 'missing-before' }),
    ]),
  );
});
