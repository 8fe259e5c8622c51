/**
 * Idempotency keys and call ids are the caller's identifiers, often a platform's call id: Redis
 * key names (in clear in its AOF, its slow log and any SCAN) must not carry them, and a retry must
 * still find its operation by them.
 */
import type request from 'supertest';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';
import { TEST_REDIS_URL } from '../support/redis';

let api: InProcessApi;
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });

beforeAll(async () => {
  api = await startInProcessApi();
});
afterAll(async () => {
  await api.stop();
  redis.disconnect();
});

async function keyNames(): Promise<string[]> {
  const names: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${api.rig.prefix}}*`, 'COUNT', 1000);
    cursor = next;
    names.push(...keys);
  } while (cursor !== '0');
  return names;
}

const patch = (body: object, headers: Record<string, string>) => {
  let test = api.request().patch('/v1/patients/pat-0003');
  for (const [name, value] of Object.entries(headers)) test = test.set(name, value);
  return test.send(body);
};
const operationIdOf = (res: request.Response): string => (res.body as { operationId: string }).operationId;

it('keeps Idempotency-Keys and call ids out of Redis key names, and still finds retries by them', async () => {
  const idemCanary = `idem-canary-${randomUUID()}`;
  const callCanary = `call-canary-${randomUUID()}`;

  const first = await patch({ email: 'a@example.org' }, { 'idempotency-key': idemCanary });
  expect(first.status).toBe(202);
  const retry = await patch({ email: 'a@example.org' }, { 'idempotency-key': idemCanary });
  expect(operationIdOf(retry)).toBe(operationIdOf(first));
  const reused = await patch({ email: 'b@example.org' }, { 'idempotency-key': idemCanary });
  expect(reused.status).toBe(422);

  const byCall = await patch({ email: 'c@example.org' }, { 'x-contact-id': callCanary });
  expect(byCall.status).toBe(202);
  const callRetry = await patch({ email: 'c@example.org' }, { 'x-contact-id': callCanary });
  expect(operationIdOf(callRetry)).toBe(operationIdOf(byCall));
  expect(operationIdOf(byCall)).not.toBe(operationIdOf(first));

  const names = await keyNames();
  expect(names.filter((n) => n.includes(':idem:'))).toHaveLength(2);
  expect(names.filter((n) => n.includes(idemCanary) || n.includes(callCanary))).toEqual([]);
});
