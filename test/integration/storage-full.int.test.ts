/**
 * The write store near its memory limit, on a Redis of its own with a small `maxmemory`: once
 * Redis's free memory is within the reserve, new writes get 503 STORAGE_FULL (with Retry-After)
 * and nothing of them is stored or applied, while the writes already queued still drain to the
 * EHR and their receipts are written; /v1/status shows the headroom against the reserve. With
 * memory freed, writes are taken again.
 */
import { Redis } from 'ioredis';
import { http } from '../support/http';
import { emailOf, history, setFaults, waitForFinal } from '../support/pipeline';
import { startOwnRedis, type OwnRedis } from '../support/redis-server';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(120000);

const LIMIT = 48 * 1024 * 1024;
const RESERVE = 8_000_000;
const CHUNK = 512 * 1024;
let own: OwnRedis;
let redis: Redis;
let gw: TestGateway;

beforeAll(async () => {
  own = await startOwnRedis(['--maxmemory', String(LIMIT), '--maxmemory-policy', 'noeviction']);
  redis = new Redis(own.url, { maxRetriesPerRequest: 2 });
  gw = await startTestGateway({
    env: { REDIS_URL: own.url },
    overrides: {
      sandbox: { enabled: true, patientCount: 60 },
      connections: {
        sandbox: { maxWritesPerSecond: 0, breaker: { failureThreshold: 3, probeIntervalMs: 400 } },
      },
      storage: { headroomBytes: RESERVE, readIntervalMs: 100 },
    },
  });
});
afterAll(async () => {
  await setFaults(gw.url, { mode: 'up' }).catch(() => undefined);
  await gw.stop();
  redis.disconnect();
  await own.kill();
});

interface Storage {
  usedBytes: number;
  limitBytes: number | null;
  headroomBytes: number | null;
  reservedBytes: number | null;
  acceptingWrites: boolean;
}

const storage = async (): Promise<Storage> => (await http('GET', `${gw.url}/v1/status`)).body.storage;
const until = (accepting: boolean): Promise<Storage> =>
  waitFor(async () => ((await storage()).acceptingWrites === accepting ? storage() : undefined), {
    what: `acceptingWrites to be ${accepting}`,
  });

const usedMemory = async (): Promise<number> =>
  Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1]);

const patch = (n: number, email: string, key: string) =>
  http('PATCH', `${gw.url}/v1/patients/pat-00${n}`, { body: { email }, headers: { 'idempotency-key': key } });

it('refuses new writes within the reserve while queued writes still drain', async () => {
  const before = await storage();
  expect(before).toMatchObject({ limitBytes: LIMIT, reservedBytes: RESERVE, acceptingWrites: true });
  expect(before.headroomBytes).toBe(LIMIT - before.usedBytes);

  // Writes queued while the EHR is down.
  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
  const queued: string[] = [];
  for (let k = 0; k < 5; k++) {
    const res = await patch(20 + k, `full-${k}@example.org`, `full-${k}`);
    expect(res.status).toBe(202);
    queued.push(res.body.operationId as string);
  }

  // Something else fills Redis until its free memory is inside the reserve, well short of the limit.
  let chunks = 0;
  while (LIMIT - (await usedMemory()) > RESERVE / 2) {
    await redis.set(`ballast:${chunks++}`, Buffer.alloc(CHUNK, 1));
  }
  const full = await until(false);
  expect(full.headroomBytes).toBeLessThan(RESERVE);
  expect(full.headroomBytes).toBeGreaterThan(0);

  const refused = await patch(30, 'full-refused@example.org', 'full-refused');
  expect(refused.status).toBe(503);
  expect(refused.body.code).toBe('STORAGE_FULL');
  expect(refused.body.detail).toContain('nothing was taken');
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  // A replay of a write already taken is still answered.
  const replay = await patch(20, 'full-0@example.org', 'full-0');
  expect(replay.status).toBe(202);
  expect(replay.body.operationId).toBe(queued[0]);
  const pending = (await http('GET', `${gw.url}/v1/status`)).body.connections.sandbox.queue;
  expect(pending.queued + pending.sending).toBe(5);

  // The EHR is back: the queued lanes drain and their receipts are written, inside the reserve.
  await setFaults(gw.url, { mode: 'up' });
  const receipts = await waitForFinal(gw.url, queued, 60000);
  expect(receipts.map((r) => r.status as string)).toEqual(Array(5).fill('succeeded'));
  for (let k = 0; k < 5; k++) {
    expect((await history(gw.fhirBase, `Patient/pat-00${20 + k}`)).map(emailOf)).toContain(
      `full-${k}@example.org`,
    );
  }
  const after = await storage();
  expect(after.acceptingWrites).toBe(false);
  expect((await http('GET', `${gw.url}/v1/status`)).body.storage.queuedWrites).toBe(0);
  // The refused write never reached the EHR.
  expect((await history(gw.fhirBase, 'Patient/pat-0030')).map(emailOf)).not.toContain(
    'full-refused@example.org',
  );

  // Memory freed: the same request is taken now, as a new write (its key was never stored).
  await redis.del(...Array.from({ length: chunks }, (_v, i) => `ballast:${i}`));
  const freed = await until(true);
  const again = await patch(30, 'full-refused@example.org', 'full-refused');
  expect(again.status).toBe(202);
  expect(again.body.replayed).toBeUndefined();
  await waitForFinal(gw.url, [again.body.operationId as string], 30000);
  const mb = (n: number | null): string => (n === null ? '-' : (n / 1048576).toFixed(1));
  console.log(
    `storage full: limit ${mb(LIMIT)} MB, reserve ${mb(RESERVE)} MB; ballast ${chunks} x 0.5 MB; ` +
      `headroom full ${mb(full.headroomBytes)} MB -> refused 1 (STORAGE_FULL), drained ${receipts.length}/5 ` +
      `with headroom ${mb(after.headroomBytes)} MB; freed headroom ${mb(freed.headroomBytes)} MB -> accepted again`,
  );
});
