/**
 * A 503 is final. With Redis frozen (SIGSTOP) the insert is already in Redis's socket buffer when
 * the API gives up and answers 503; when Redis thaws it reads that insert before anything sent
 * after it. The write must not be stored then: not applied to the EHR, not ahead of the agent's
 * next correction, and its Idempotency-Key not taken.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load-config';
import { startGateway, type Gateway } from '../../src/main';
import { projectRoot } from '../../src/project-root';
import { http } from '../support/http';
import { captureLogs } from '../support/log-capture';
import { emailOf, history, waitForFinal } from '../support/pipeline';
import { startOwnRedis, type OwnRedis } from '../support/redis-server';

jest.setTimeout(60000);

let redis: OwnRedis;
let gateway: Gateway;
beforeAll(async () => {
  redis = await startOwnRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  const config = loadConfig({
    env: {},
    cwd: mkdtempSync(join(tmpdir(), 'continuum-refused-')),
    builtInMappingsDir: join(projectRoot(), 'mappings'),
    overrides: {
      server: { port: 0, host: '127.0.0.1' },
      redis: { url: redis.url },
      queue: { enqueueTimeoutMs: 1000 },
      sandbox: { patientCount: 50 },
      logging: { level: 'warn' },
    },
  });
  gateway = await startGateway({ config, role: 'all', logDestination: captureLogs().stream });
});
afterAll(async () => {
  if (redis.child.pid !== undefined && redis.child.exitCode === null)
    process.kill(redis.child.pid, 'SIGCONT');
  await gateway.close();
  await redis.kill();
});

it('never stores a write it answered 503, even when Redis reads the insert afterwards', async () => {
  const url = `${gateway.url}/v1/patients/pat-0005`;
  // The patient is known, so the PATCH goes straight to the insert (no EHR check, no key lookup).
  expect((await http('GET', url)).status).toBe(200);

  process.kill(redis.child.pid!, 'SIGSTOP');
  let refused;
  try {
    refused = await http('PATCH', url, {
      body: { email: 'refused@example.org' },
      headers: { 'idempotency-key': 'refused-1' },
    });
  } finally {
    process.kill(redis.child.pid!, 'SIGCONT');
  }
  expect(refused.status).toBe(503);
  expect(refused.body.code).toBe('QUEUE_UNAVAILABLE');

  // The agent's next correction is sent after the thaw, so Redis reads it after the late insert.
  const next = await http('PATCH', url, {
    body: { email: 'next@example.org' },
    headers: { 'idempotency-key': 'refused-2' },
  });
  expect(next.status).toBe(202);
  const [done] = await waitForFinal(gateway.url, [next.body.operationId as string]);
  expect(done.status).toBe('succeeded');

  const emails = (await history(`${gateway.url}/sandbox/fhir`, 'Patient/pat-0005')).map(emailOf);
  expect(emails).not.toContain('refused@example.org');
  expect(emails.at(-1)).toBe('next@example.org');
  // Nothing holds the refused key: the caller may use it again, even for another change.
  const raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    expect(await raw.keys('*:idem:*refused-1')).toEqual([]);
  } finally {
    raw.disconnect();
  }
  const reused = await http('PATCH', url, {
    body: { email: 'reused@example.org' },
    headers: { 'idempotency-key': 'refused-1' },
  });
  expect(reused.status).toBe(202);
  const [reusedDone] = await waitForFinal(gateway.url, [reused.body.operationId as string]);
  expect(reusedDone.status).toBe('succeeded');
  const after = (await history(`${gateway.url}/sandbox/fhir`, 'Patient/pat-0005')).map(emailOf);
  expect(after.filter((e) => e === 'refused@example.org')).toHaveLength(0);
});
