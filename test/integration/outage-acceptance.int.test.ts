/**
 * The promise, as a call center would check it on the bad day: with the EHR down, 500 writes from
 * 50 concurrent clients across 100 patients are all accepted and visible as queued; /v1/status
 * shows the breaker open and the backlog; when the EHR is back every write succeeds, the EHR holds
 * each change exactly once, and each patient's final state is their last accepted write.
 */
import { sendAsClient } from '../support/client-retry';
import { http } from '../support/http';
import { emailOf, history, setFaults, waitForFinal } from '../support/pipeline';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(420000);

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: {
        sandbox: { maxWritesPerSecond: 0, breaker: { failureThreshold: 3, probeIntervalMs: 500 } },
      },
      logging: { level: 'info' },
    },
  });
});
afterAll(async () => {
  await setFaults(gw.url, { mode: 'up' });
  await gw.stop();
});

it('accepts 500 writes during an outage and lands every one, once, in order, when the EHR is back', async () => {
  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
  const patient = (n: number): string => `pat-${String(n + 1).padStart(4, '0')}`;
  const accepted = new Map<string, string[]>(); // patient -> emails in acceptance order
  const operationIds: string[] = [];
  const refused: string[] = [];
  let retries = 0;

  // 50 clients; client c owns patients 2c and 2c+1 and alternates between them, so each patient's
  // acceptance order is known: 5 writes per patient, 500 in all.
  const sentFrom = Date.now();
  await Promise.all(
    Array.from({ length: 50 }, async (_v, c) => {
      for (let k = 0; k < 10; k++) {
        const id = patient(2 * c + (k % 2));
        const email = `outage-${c}-${k}@example.org`;
        const { res, retries: asked } = await sendAsClient(() =>
          http('PATCH', `${gw.url}/v1/patients/${id}`, {
            body: { email },
            headers: { 'idempotency-key': `outage-${c}-${k}` },
          }),
        );
        retries += asked;
        if (res.status !== 202) {
          refused.push(`${res.status} ${String(res.body?.code)}`);
          continue;
        }
        operationIds.push(res.body.operationId as string);
        accepted.set(id, [...(accepted.get(id) ?? []), email]);
      }
    }),
  );
  const acceptedBy = Date.now();
  // Asked to send again is what a surge on a starved machine may say; refused for good is not.
  console.log(`outage acceptance: 500 writes, ${retries} sent again after a 503/429 with Retry-After`);
  expect(refused).toEqual([]);
  expect(operationIds).toHaveLength(500);
  // The same key sent again is the same write: 500 operations, none twice.
  expect(new Set(operationIds).size).toBe(500);

  const status = await waitFor(
    async () => {
      const s = (await http('GET', `${gw.url}/v1/status`)).body.connections.sandbox;
      return s.breaker.state === 'open' ? s : undefined;
    },
    { what: 'the breaker to open' },
  );
  expect(status.queue.queued + status.queue.sending).toBe(500);
  // The backlog's age is that of a write accepted in the window above: at least as old as the last
  // of them, at most as old as the first.
  const asked = Date.now();
  const age = (await http('GET', `${gw.url}/v1/status`)).body.connections.sandbox.queue
    .oldestPendingAgeSeconds as number | null;
  expect(age).not.toBeNull();
  expect(age).toBeGreaterThanOrEqual(Math.floor((asked - acceptedBy) / 1000));
  expect(age).toBeLessThanOrEqual(Math.ceil((Date.now() - sentFrom) / 1000));
  const sample = await http('GET', `${gw.url}/v1/operations/${operationIds[250]!}`);
  expect(['queued', 'sending']).toContain(sample.body.status);

  await setFaults(gw.url, { mode: 'up' });
  const receipts = await waitForFinal(gw.url, operationIds, 300000);
  const succeeded = receipts.filter((r) => r.status === 'succeeded').length;

  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let stale = 0;
  for (const [id, emails] of accepted) {
    const seen = (await history(gw.fhirBase, `Patient/${id}`)).map(emailOf);
    const changes = seen.filter((e, i) => i > 0 && e !== seen[i - 1]);
    for (const email of emails) {
      const count = changes.filter((e) => e === email).length;
      if (count === 0) lost++;
      if (count > 1) duplicated++;
    }
    const order = emails.map((e) => changes.indexOf(e));
    outOfOrder += order.filter((at, i) => i > 0 && at < order[i - 1]!).length;
    if (seen[seen.length - 1] !== emails[emails.length - 1]) stale++;
  }
  console.log(
    `outage acceptance: accepted ${operationIds.length}, lost ${lost}, duplicated ${duplicated}, out-of-order ${outOfOrder}`,
  );
  expect({ succeeded, lost, duplicated, outOfOrder, stale }).toEqual({
    succeeded: 500,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    stale: 0,
  });
  expect((await http('GET', `${gw.url}/v1/status`)).body.connections.sandbox.breaker.state).toBe('closed');
});
