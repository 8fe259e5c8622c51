/**
 * Queued writes per client, as a call center would meet them during an EHR outage: a client with
 * as many writes waiting as its cap gets 503 WRITE_QUOTA_EXCEEDED (with Retry-After) and nothing
 * of the refused write is stored or ever applied, while another client of the same tenant still
 * writes; a replay under the same Idempotency-Key is not a new write (answered, never refused,
 * never counted); a burst of concurrent writes cannot overrun the cap; once the EHR is back and
 * the queue drains, the counts are back at zero (never below) and the client writes again.
 */
import { Redis } from 'ioredis';
import { createRedisClientRegistry } from '../../adapters/redis/client-registry';
import { SCOPES, type ClientRegistry } from '../../src/domain/access';
import { createLogger } from '../../src/observability/logger';
import { http, type JsonResponse } from '../support/http';
import { captureLogs } from '../support/log-capture';
import { emailOf, history, setFaults, waitForFinal } from '../support/pipeline';
import { TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(120000);

const CAP = 3;
let gw: TestGateway;
let redis: Redis;
let registry: ClientRegistry;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: {
        sandbox: { maxWritesPerSecond: 0, breaker: { failureThreshold: 3, probeIntervalMs: 400 } },
      },
      storage: { queuedWritesPerClient: CAP },
    },
  });
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  registry = createRedisClientRegistry({
    redis,
    prefix: `{${gw.prefix}}`,
    logger: createLogger({ level: 'silent', destination: captureLogs().stream }),
  });
});
afterAll(async () => {
  await setFaults(gw.url, { mode: 'up' });
  await registry.close();
  redis.disconnect();
  await gw.stop();
});

async function newClient(name: string): Promise<string> {
  const { key } = await registry.create({ name, tenant: 'default', scopes: SCOPES });
  return key;
}

const patient = (n: number): string => `pat-${String(n).padStart(4, '0')}`;

function patch(key: string, n: number, email: string, idempotencyKey: string): Promise<JsonResponse> {
  return http('PATCH', `${gw.url}/v1/patients/${patient(n)}`, {
    body: { email },
    headers: { authorization: `Bearer ${key}`, 'idempotency-key': idempotencyKey },
  });
}

async function storageOf(key: string): Promise<{ queuedWrites: number; queuedWritesCap: number | null }> {
  const res = await http('GET', `${gw.url}/v1/status`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return res.body.storage;
}

async function queuedInStore(): Promise<number> {
  const queue = (await http('GET', `${gw.url}/v1/status`)).body.connections.sandbox.queue;
  return (queue.queued as number) + (queue.sending as number);
}

it('refuses a client past its cap, not its neighbour, and lets it write again once its queue drained', async () => {
  const a = await newClient('quota-desk-a');
  const b = await newClient('quota-desk-b');
  const idle = await newClient('quota-desk-idle');
  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });

  // A fills its cap, one write at a time.
  const aIds: string[] = [];
  for (let k = 0; k < CAP; k++) {
    const res = await patch(a, 10 + k, `quota-a-${k}@example.org`, `quota-a-${k}`);
    expect(res.status).toBe(202);
    aIds.push(res.body.operationId as string);
  }
  expect(await storageOf(a)).toMatchObject({ queuedWrites: CAP, queuedWritesCap: CAP });

  // Its next write is refused, and says so the way a retrying client understands.
  const refused = await patch(a, 20, 'quota-a-refused@example.org', 'quota-a-refused');
  expect(refused.status).toBe(503);
  expect(refused.body.code).toBe('WRITE_QUOTA_EXCEEDED');
  expect(refused.body.detail).toContain('nothing was taken');
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(refused.body.operationId).toBeUndefined();

  // A replay of a write it already made is answered with that write, not refused, not counted.
  const replay = await patch(a, 10, 'quota-a-0@example.org', 'quota-a-0');
  expect(replay.status).toBe(202);
  expect(replay.body.operationId).toBe(aIds[0]);
  expect(await storageOf(a)).toMatchObject({ queuedWrites: CAP });

  // B, same tenant, same EHR, writes: a burst of twice its cap at once takes exactly its cap.
  const burst = await Promise.all(
    Array.from({ length: 2 * CAP }, (_v, k) => patch(b, 30 + k, `quota-b-${k}@example.org`, `quota-b-${k}`)),
  );
  const bAccepted = burst.filter((r) => r.status === 202);
  const bRefused = burst.filter((r) => r.status === 503 && r.body.code === 'WRITE_QUOTA_EXCEEDED');
  expect({ accepted: bAccepted.length, refused: bRefused.length }).toEqual({ accepted: CAP, refused: CAP });
  const bIds = bAccepted.map((r) => r.body.operationId as string);

  // Each client sees its own count only; the store holds exactly what was accepted.
  expect(await storageOf(b)).toMatchObject({ queuedWrites: CAP });
  expect(await storageOf(idle)).toEqual(expect.objectContaining({ queuedWrites: 0, queuedWritesCap: CAP }));
  expect(await queuedInStore()).toBe(2 * CAP);

  // The EHR comes back: every accepted write lands, and the counts go back to zero, not below.
  await setFaults(gw.url, { mode: 'up' });
  const receipts = await waitForFinal(gw.url, [...aIds, ...bIds], 60000);
  expect(receipts.map((r) => r.status as string)).toEqual(Array(2 * CAP).fill('succeeded'));
  const drained = await waitFor(
    async () => {
      const [sa, sb] = await Promise.all([storageOf(a), storageOf(b)]);
      return sa.queuedWrites === 0 && sb.queuedWrites === 0 ? { a: sa, b: sb } : undefined;
    },
    { what: 'the counts to drain' },
  );
  expect(drained.a.queuedWrites).toBe(0);

  // The refused write was never applied: the patient's EHR record never had its email.
  const refusedSeen = (await history(gw.fhirBase, `Patient/${patient(20)}`)).map(emailOf);
  expect(refusedSeen).not.toContain('quota-a-refused@example.org');
  // Nor was its key taken: the same request now is a new write (202, not a replay).
  const again = await patch(a, 20, 'quota-a-refused@example.org', 'quota-a-refused');
  expect(again.status).toBe(202);
  expect(again.body.replayed).toBeUndefined();
  expect(await storageOf(a)).toMatchObject({ queuedWrites: 1 });
  await waitForFinal(gw.url, [again.body.operationId as string], 30000);

  // Replays of finished writes do not count either; the count rests at zero.
  const late = await Promise.all(
    [0, 1, 2].map((k) => patch(a, 10 + k, `quota-a-${k}@example.org`, `quota-a-${k}`)),
  );
  expect(late.map((r) => r.body.replayed)).toEqual([true, true, true]);
  const final = await waitFor(
    async () => {
      const s = await storageOf(a);
      return s.queuedWrites === 0 ? s : undefined;
    },
    { what: "A's count to be back at zero" },
  );
  console.log(
    `write quota: cap ${CAP}; A accepted ${aIds.length}, refused 1, replay counted 0; ` +
      `B burst ${2 * CAP} -> accepted ${bAccepted.length}, refused ${bRefused.length}; ` +
      `after drain A ${final.queuedWrites}, B ${drained.b.queuedWrites}`,
  );
});
