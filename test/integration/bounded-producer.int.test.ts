/**
 * An API write never hangs on a sick Redis: with Redis frozen (SIGSTOP, the worst case: the socket
 * stays open and nothing answers), a write answers 503 WRITE_OUTCOME_UNKNOWN with Retry-After
 * within its deadline; the client's retry with the same Idempotency-Key, once Redis is back, lands once.
 */
import { http } from '../support/http';
import { emailOf, history, waitForFinal } from '../support/pipeline';
import { useFreezableRedisGateway } from '../support/freezable-redis-gateway';

jest.setTimeout(60000);

const rig = useFreezableRedisGateway();

it('answers 503 with Retry-After in bounded time while Redis hangs, and the retry lands once', async () => {
  const headers = { 'idempotency-key': 'frozen-redis-1' };
  const body = { email: 'frozen@example.org' };
  // Warm the path (patient known, connections up) before freezing Redis.
  expect((await http('GET', `${rig().gateway.url}/v1/patients/pat-0003`)).status).toBe(200);

  rig().freeze();
  const started = Date.now();
  let refused;
  try {
    refused = await http('PATCH', `${rig().gateway.url}/v1/patients/pat-0003`, { body, headers });
  } finally {
    rig().thaw();
  }
  const tookMs = Date.now() - started;
  expect(refused.status).toBe(503);
  expect(refused.body.code).toBe('WRITE_OUTCOME_UNKNOWN');
  expect(refused.body.retryable).toBe(true);
  expect(refused.headers.get('retry-after')).toBe('2');
  expect(tookMs).toBeLessThan(5000);

  // The client retries as told, with the same key: one operation, one change in the EHR.
  const accepted = await http('PATCH', `${rig().gateway.url}/v1/patients/pat-0003`, { body, headers });
  expect(accepted.status).toBe(202);
  const again = await http('PATCH', `${rig().gateway.url}/v1/patients/pat-0003`, { body, headers });
  expect(again.body.operationId).toBe(accepted.body.operationId);
  const [done] = await waitForFinal(rig().gateway.url, [accepted.body.operationId as string]);
  expect(done.status).toBe('succeeded');
  const emails = (await history(`${rig().gateway.url}/sandbox/fhir`, 'Patient/pat-0003')).map(emailOf);
  expect(emails.filter((e) => e === 'frozen@example.org')).toHaveLength(1);
});
