/**
 * An API write never hangs on a sick Redis: with Redis frozen (SIGSTOP, the worst case: the socket
 * stays open and nothing answers), a write answers 503 QUEUE_UNAVAILABLE with Retry-After within
 * its deadline; the client's retry with the same Idempotency-Key, once Redis is back, lands once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    cwd: mkdtempSync(join(tmpdir(), 'continuum-bounded-')),
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

it('answers 503 with Retry-After in bounded time while Redis hangs, and the retry lands once', async () => {
  const headers = { 'idempotency-key': 'frozen-redis-1' };
  const body = { email: 'frozen@example.org' };
  // Warm the path (patient known, connections up) before freezing Redis.
  expect((await http('GET', `${gateway.url}/v1/patients/pat-0003`)).status).toBe(200);

  process.kill(redis.child.pid!, 'SIGSTOP');
  const started = Date.now();
  let refused;
  try {
    refused = await http('PATCH', `${gateway.url}/v1/patients/pat-0003`, { body, headers });
  } finally {
    process.kill(redis.child.pid!, 'SIGCONT');
  }
  const tookMs = Date.now() - started;
  expect(refused.status).toBe(503);
  expect(refused.body.code).toBe('QUEUE_UNAVAILABLE');
  expect(refused.body.retryable).toBe(true);
  expect(refused.headers.get('retry-after')).toBe('2');
  expect(tookMs).toBeLessThan(5000);

  // The client retries as told, with the same key: one operation, one change in the EHR.
  const accepted = await http('PATCH', `${gateway.url}/v1/patients/pat-0003`, { body, headers });
  expect(accepted.status).toBe(202);
  const again = await http('PATCH', `${gateway.url}/v1/patients/pat-0003`, { body, headers });
  expect(again.body.operationId).toBe(accepted.body.operationId);
  const [done] = await waitForFinal(gateway.url, [accepted.body.operationId as string]);
  expect(done.status).toBe('succeeded');
  const emails = (await history(`${gateway.url}/sandbox/fhir`, 'Patient/pat-0003')).map(emailOf);
  expect(emails.filter((e) => e === 'frozen@example.org')).toHaveLength(1);
});
