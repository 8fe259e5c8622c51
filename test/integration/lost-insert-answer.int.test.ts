/**
 * A write whose insert ran in Redis but whose answer was lost (Redis killed between the two, or
 * the connection cut) is not a refusal. The gateway must not tell the agent "nothing was taken"
 * (503 QUEUE_UNAVAILABLE): the write is stored and will be applied. It answers 503
 * WRITE_OUTCOME_UNKNOWN with the operation id, and the receipt and a retry with the same
 * Idempotency-Key then tell the truth: one operation, applied once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { startGateway, type Gateway } from '../../src/main';
import { projectRoot } from '../../src/project-root';
import { forgetCredential, readAdminKey, useCredential } from '../support/credentials';
import { http } from '../support/http';
import { captureLogs } from '../support/log-capture';
import { emailOf, history, waitForFinal } from '../support/pipeline';
import { startOwnRedis, type OwnRedis } from '../support/redis-server';
import { startReplyCuttingProxy, type ReplyCuttingProxy } from '../support/reply-cutting-proxy';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60000);

let redis: OwnRedis;
let proxy: ReplyCuttingProxy;
let gateway: Gateway;

beforeAll(async () => {
  redis = await startOwnRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  proxy = await startReplyCuttingProxy(redis.port);
  const config = loadConfig({
    env: {},
    cwd: mkdtempSync(join(tmpdir(), 'continuum-lost-answer-')),
    builtInMappingsDir: join(projectRoot(), 'mappings'),
    overrides: {
      server: { port: 0, host: '127.0.0.1' },
      redis: { url: proxy.url },
      // A write whose enqueue was lost with the answer waits for the lane sweeper.
      queue: { enqueueTimeoutMs: 1000, sweepIntervalMs: 1000 },
      sandbox: { patientCount: 50 },
      logging: { level: 'warn' },
    },
  });
  gateway = await startGateway({ config, role: 'all', logDestination: captureLogs().stream });
  useCredential(gateway.url, readAdminKey(config.dataDir));
});

afterAll(async () => {
  forgetCredential(gateway.url);
  await gateway.close();
  await proxy.close();
  await redis.kill();
});

it('answers WRITE_OUTCOME_UNKNOWN, not "nothing was taken", when the insert ran and its answer was lost', async () => {
  const url = `${gateway.url}/v1/patients/pat-0007`;
  const body = { email: 'answer-lost@example.org' };
  const headers = { 'idempotency-key': 'answer-lost-1' };
  // The patient is known, so the PATCH goes straight to the insert; and an earlier write has
  // loaded the insert script, so the cut command is the one that stores (not a NOSCRIPT answer).
  expect((await http('GET', url)).status).toBe(200);
  const warm = await http('PATCH', `${gateway.url}/v1/patients/pat-0006`, {
    body: { email: 'warm@example.org' },
  });
  expect(warm.status).toBe(202);

  // The insert is the one command naming both the idempotency key and the lane set.
  proxy.arm([':idem:', ':lanes:'], { downForMs: 1500 });
  const answer = await http('PATCH', url, { body, headers, timeoutMs: 10000 });
  await proxy.cut;

  expect(answer.status).toBe(503);
  expect(answer.body.code).toBe('WRITE_OUTCOME_UNKNOWN');
  expect(answer.body.retryable).toBe(true);
  expect(answer.headers.get('retry-after')).toBe('2');
  const operationId = answer.body.operationId as string;
  expect(operationId).toEqual(expect.any(String));
  expect(answer.body.receipt).toBe(`/v1/operations/${operationId}`);

  // The receipt says it was taken, once the store answers again.
  const receipt = await waitFor(async () => {
    const r = await http('GET', `${gateway.url}${answer.body.receipt as string}`);
    return r.status === 200 ? r : undefined;
  });
  expect(receipt.body.operationId).toBe(operationId);

  // The agent's retry with the same key finds that operation: no second one.
  // (Until the accept connection is back, the retry is refused outright, as it says.)
  const retried = await waitFor(async () => {
    const r = await http('PATCH', url, { body, headers });
    if (r.status === 503 && r.body.code === 'QUEUE_UNAVAILABLE') return undefined;
    return r;
  });
  // 202 while it waits, 200 once the sweeper has applied it: either way the same operation, replayed.
  expect([202, 200]).toContain(retried.status);
  expect(retried.body.operationId).toBe(operationId);
  expect(retried.body.replayed).toBe(true);

  const [done] = await waitForFinal(gateway.url, [operationId]);
  expect(done.status).toBe('succeeded');
  const emails = (await history(`${gateway.url}/sandbox/fhir`, 'Patient/pat-0007')).map(emailOf);
  expect(emails.filter((e) => e === body.email)).toHaveLength(1);
});

it('still answers QUEUE_UNAVAILABLE when nothing was sent, and never applies that write', async () => {
  const url = `${gateway.url}/v1/patients/pat-0008`;
  expect((await http('GET', url)).status).toBe(200);
  // Redis is gone: the accept connection has nothing to send on. No Idempotency-Key, so the first
  // command the write needs is the insert itself.
  proxy.goDown();
  let answer;
  try {
    answer = await http('PATCH', url, { body: { email: 'never-sent@example.org' }, timeoutMs: 10000 });
  } finally {
    proxy.comeBack();
  }
  expect(answer.status).toBe(503);
  expect(answer.body.code).toBe('QUEUE_UNAVAILABLE');
  expect(answer.body.operationId).toBeUndefined();

  const next = await waitFor(async () => {
    const r = await http('PATCH', url, { body: { email: 'next@example.org' } });
    return r.status === 202 ? r : undefined;
  });
  const [done] = await waitForFinal(gateway.url, [next.body.operationId as string]);
  expect(done.status).toBe('succeeded');
  const emails = (await history(`${gateway.url}/sandbox/fhir`, 'Patient/pat-0008')).map(emailOf);
  expect(emails).not.toContain('never-sent@example.org');
  expect(emails.at(-1)).toBe('next@example.org');
});
