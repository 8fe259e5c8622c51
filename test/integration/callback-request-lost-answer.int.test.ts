/**
 * A one-step callback whose insert ran in Redis but whose answer was lost may well be stored: its
 * place in the callback window must stay taken. Giving it back would let the window promise one
 * callback more than the desk can make, and the same request retried finds the stored write
 * without taking a place again.
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
import { waitForFinal } from '../support/pipeline';
import { startOwnRedis, type OwnRedis } from '../support/redis-server';
import { startReplyCuttingProxy, type ReplyCuttingProxy } from '../support/reply-cutting-proxy';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60000);

const ALL_DAY = '00:00-24:00';

let redis: OwnRedis;
let proxy: ReplyCuttingProxy;
let gateway: Gateway;

beforeAll(async () => {
  redis = await startOwnRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']);
  proxy = await startReplyCuttingProxy(redis.port);
  const config = loadConfig({
    env: {},
    cwd: mkdtempSync(join(tmpdir(), 'continuum-callback-lost-answer-')),
    builtInMappingsDir: join(projectRoot(), 'mappings'),
    overrides: {
      server: { port: 0, host: '127.0.0.1' },
      redis: { url: proxy.url },
      queue: { enqueueTimeoutMs: 1000, sweepIntervalMs: 1000 },
      sandbox: { patientCount: 20 },
      logging: { level: 'warn' },
      callbacks: {
        windows: {
          timeZone: 'UTC',
          hours: {
            sun: ALL_DAY,
            mon: ALL_DAY,
            tue: ALL_DAY,
            wed: ALL_DAY,
            thu: ALL_DAY,
            fri: ALL_DAY,
            sat: ALL_DAY,
          },
          lengthMinutes: 120,
          capacity: 1,
          minRemainingMinutes: 0,
          searchDays: 2,
        },
      },
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

const ask = (patientId: string, key: string) =>
  http('POST', `${gateway.url}/v1/patients/${patientId}/callback-request`, {
    body: { phone: '+16175550142' },
    headers: { 'idempotency-key': key },
    timeoutMs: 10000,
  });

it('keeps the window place of a callback whose stored answer was lost', async () => {
  // Loads the insert script, so the cut command is the insert that stores.
  const warm = await ask('pat-0001', 'warm-1');
  expect(warm.status).toBe(202);

  proxy.arm([':idem:', ':lanes:'], { downForMs: 1500 });
  const lost = await ask('pat-0002', 'lost-1');
  await proxy.cut;
  expect(lost.status).toBe(503);
  expect(lost.body.code).toBe('WRITE_OUTCOME_UNKNOWN');

  // The retry finds the stored callback: its window is the one it was given a place in.
  const retried = await waitFor(async () => {
    const r = await ask('pat-0002', 'lost-1');
    return r.status === 503 ? undefined : r;
  });
  expect(retried.status).toBe(202);
  expect(retried.body.operationId).toBe(lost.body.operationId);

  // A third patient must not be promised a window already full.
  // (Until every connection to the store is back, a request may still be refused outright.)
  const third = await waitFor(async () => {
    const r = await ask('pat-0003', 'third-1');
    return r.status === 503 && r.body.code === 'QUEUE_UNAVAILABLE' ? undefined : r;
  });
  expect(third.status).toBe(202);
  const windows = [warm, retried, third].map((r) => (r.body.window as { start: string }).start);
  console.log('windows given:', windows);
  expect(new Set(windows).size).toBe(3);

  const done = await waitForFinal(gateway.url, [retried.body.operationId as string]);
  expect(done[0]?.status).toBe('succeeded');
});
