/**
 * A write given up on is settled. With Redis frozen (SIGSTOP) the insert is already in Redis's
 * socket buffer when the API gives up; it answers 503 WRITE_OUTCOME_UNKNOWN (from outside, a
 * frozen Redis and one that ran the insert and then froze look the same). When Redis thaws it reads
 * that insert before anything sent after it, past the insert's deadline: the write must not be
 * stored then: no receipt, not applied to the EHR, not ahead of the agent's next correction, and
 * its Idempotency-Key not taken.
 */
import { Redis } from 'ioredis';
import { http } from '../support/http';
import { emailOf, history, waitForFinal } from '../support/pipeline';
import { useFreezableRedisGateway } from '../support/freezable-redis-gateway';

jest.setTimeout(60000);

const rig = useFreezableRedisGateway();

it('never stores a write it gave up on, even when Redis reads the insert afterwards', async () => {
  const url = `${rig().gateway.url}/v1/patients/pat-0005`;
  // The patient is known, so the PATCH goes straight to the insert (no EHR check, no key lookup).
  expect((await http('GET', url)).status).toBe(200);

  rig().freeze();
  let refused;
  try {
    refused = await http('PATCH', url, {
      body: { email: 'refused@example.org' },
      headers: { 'idempotency-key': 'refused-1' },
    });
  } finally {
    rig().thaw();
  }
  expect(refused.status).toBe(503);
  expect(refused.body.code).toBe('WRITE_OUTCOME_UNKNOWN');
  // Its deadline has passed: the receipt already tells the final state, which is "not taken".
  const receipt = await http('GET', `${rig().gateway.url}${refused.body.receipt as string}`);
  expect(receipt.status).toBe(404);

  // The agent's next correction is sent after the thaw, so Redis reads it after the late insert.
  const next = await http('PATCH', url, {
    body: { email: 'next@example.org' },
    headers: { 'idempotency-key': 'refused-2' },
  });
  expect(next.status).toBe(202);
  const [done] = await waitForFinal(rig().gateway.url, [next.body.operationId as string]);
  expect(done.status).toBe('succeeded');

  const emails = (await history(`${rig().gateway.url}/sandbox/fhir`, 'Patient/pat-0005')).map(emailOf);
  expect(emails).not.toContain('refused@example.org');
  expect(emails.at(-1)).toBe('next@example.org');
  // Nothing holds the refused key: the caller may use it again, even for another change. Keys are
  // stored hashed, and this Redis is the test's own: the one key there is the next correction's.
  const raw = new Redis(rig().redis.url, { maxRetriesPerRequest: 1 });
  try {
    expect(await raw.keys('*:idem:*')).toHaveLength(1);
  } finally {
    raw.disconnect();
  }
  const reused = await http('PATCH', url, {
    body: { email: 'reused@example.org' },
    headers: { 'idempotency-key': 'refused-1' },
  });
  expect(reused.status).toBe(202);
  const [reusedDone] = await waitForFinal(rig().gateway.url, [reused.body.operationId as string]);
  expect(reusedDone.status).toBe('succeeded');
  const after = (await history(`${rig().gateway.url}/sandbox/fhir`, 'Patient/pat-0005')).map(emailOf);
  expect(after.filter((e) => e === 'refused@example.org')).toHaveLength(0);
});
