/**
 * The durable write pipeline against the sandbox EHR with faults staged through its switch:
 * per-patient order, exactly-once effect when responses are lost after commit, an outage ridden
 * through with the breaker, and the operator's cancel / retry / replay. Every check is made on the
 * EHR's own history, not on Continuum's word.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { http } from '../support/http';
import { TEST_REDIS_URL } from '../support/redis';
import { emailOf, history, receipt, setFaults, waitForFinal, useSandboxGateway } from '../support/pipeline';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180000);

const gw = useSandboxGateway();

const patientId = (n: number): string => `pat-${String(n).padStart(4, '0')}`;

async function patchEmail(id: string, email: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await http('PATCH', `${gw().url}/v1/patients/${id}`, { body: { email }, headers });
  expect(res.status).toBe(202);
  return res.body.operationId as string;
}

/** Counts what a user would: accepted writes missing from the EHR, applied twice, or out of order. */
async function audit(
  expected: Map<string, string[]>,
): Promise<{ lost: number; duplicated: number; outOfOrder: number; stale: number }> {
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let stale = 0;
  for (const [id, emails] of expected) {
    const versions = await history(gw().fhirBase, `Patient/${id}`);
    const seen = versions.map(emailOf);
    // Each accepted email must appear as the email of exactly one new version, in acceptance order.
    const firstIndex = emails.map((e) => seen.indexOf(e));
    for (const [k, email] of emails.entries()) {
      const count = seen.filter((s, i) => s === email && (i === 0 || seen[i - 1] !== email)).length;
      if (count === 0) lost++;
      if (count > 1) duplicated++;
      if (k > 0 && firstIndex[k]! < firstIndex[k - 1]!) outOfOrder++;
    }
    if (emailOf(versions[versions.length - 1]) !== emails[emails.length - 1]) stale++;
  }
  return { lost, duplicated, outOfOrder, stale };
}

it("keeps each patient's writes in order and applies each once, while the EHR fails a third of requests and loses half of those responses after committing", async () => {
  await setFaults(gw().url, { mode: 'flaky', failureRate: 0.3, afterCommitRate: 0.5, seed: 7 });
  const expected = new Map<string, string[]>();
  const ids: string[] = [];
  // 12 patients in parallel; each patient's 5 changes accepted one after another.
  await Promise.all(
    Array.from({ length: 12 }, async (_v, p) => {
      const id = patientId(100 + p);
      const emails: string[] = [];
      for (let k = 0; k < 5; k++) {
        const email = `order-${p}-${k}@example.org`;
        ids.push(await patchEmail(id, email));
        emails.push(email);
      }
      expected.set(id, emails);
    }),
  );
  // Retries back off under the injected failures: on a machine busy with a full parallel run, the
  // 60 writes have been seen to need more than a minute.
  const receipts = await waitForFinal(gw().url, ids, 110_000);
  expect(receipts.map((r) => r.status)).toEqual(Array(ids.length).fill('succeeded'));
  const faults = (await http('GET', `${gw().url}/sandbox/admin/faults`)).body;
  expect(faults.counters.failed).toBeGreaterThan(0);
  expect(faults.counters.failedAfterCommit).toBeGreaterThan(0);
  await setFaults(gw().url, { mode: 'up' });

  const result = await audit(expected);
  console.log(
    `ordering under faults: accepted ${ids.length}, lost ${result.lost}, duplicated ${result.duplicated}, out-of-order ${result.outOfOrder}`,
  );
  expect(result).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0, stale: 0 });
});

it('accepts writes while the EHR is down, shows the breaker open and the backlog, and drains it when the EHR is back', async () => {
  await setFaults(gw().url, { mode: 'down', kind: 'refuse' });
  const expected = new Map<string, string[]>();
  const ids: string[] = [];
  const sentFrom = Date.now();
  await Promise.all(
    Array.from({ length: 10 }, async (_v, p) => {
      const id = patientId(130 + p);
      const emails: string[] = [];
      for (let k = 0; k < 3; k++) {
        const email = `outage-${p}-${k}@example.org`;
        ids.push(await patchEmail(id, email));
        emails.push(email);
      }
      expected.set(id, emails);
    }),
  );
  const status = await waitFor(
    async () => {
      const s = (await http('GET', `${gw().url}/v1/status`)).body.connections.sandbox;
      return s.breaker.state === 'open' ? s : undefined;
    },
    { what: 'the breaker to open' },
  );
  expect(status.queue.queued + status.queue.sending).toBeGreaterThanOrEqual(25);
  // How long the backlog has waited, in seconds: it grows while the EHR is down, and is never more
  // than the time since the first of these writes was sent.
  const oldestAge = await waitFor(
    async () => {
      const s = (await http('GET', `${gw().url}/v1/status`)).body.connections.sandbox;
      const age = s.queue.oldestPendingAgeSeconds as number | null;
      return age !== null && age >= 2 ? age : undefined;
    },
    { what: 'the oldest pending write to be reported 2 s old' },
  );
  expect(oldestAge).toBeLessThanOrEqual(Math.ceil((Date.now() - sentFrom) / 1000));
  const ready = (await http('GET', `${gw().url}/readyz`)).body;
  expect(ready).toMatchObject({
    ready: true,
    connections: { sandbox: { reachable: false, breaker: 'open' } },
  });
  for (const id of ids) expect(['queued', 'sending']).toContain((await receipt(gw().url, id)).status);

  await setFaults(gw().url, { mode: 'up' });
  const receipts = await waitForFinal(gw().url, ids);
  expect(receipts.map((r) => r.status)).toEqual(Array(ids.length).fill('succeeded'));
  const after = (await http('GET', `${gw().url}/v1/status`)).body.connections.sandbox;
  expect(after.breaker.state).toBe('closed');
  expect(await audit(expected)).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0, stale: 0 });
});

it('cancels a write that has not been sent, and it never reaches the EHR', async () => {
  await setFaults(gw().url, { mode: 'down', kind: 'http503' });
  const id = patientId(150);
  const first = await patchEmail(id, 'cancel-first@example.org');
  const second = await patchEmail(id, 'cancel-second@example.org');
  const third = await patchEmail(id, 'cancel-third@example.org');
  const cancelled = await http('POST', `${gw().url}/v1/operations/${second}/cancel`);
  expect(cancelled.status).toBe(200);
  expect(cancelled.body.status).toBe('cancelled');
  // The head of the lane has been tried already: too late to cancel it.
  await waitFor(async () => ((await receipt(gw().url, first)).attempts > 0 ? true : undefined));
  expect((await http('POST', `${gw().url}/v1/operations/${first}/cancel`)).status).toBe(409);

  await setFaults(gw().url, { mode: 'up' });
  const [a, b, c] = await waitForFinal(gw().url, [first, second, third]);
  expect([a.status, b.status, c.status]).toEqual(['succeeded', 'cancelled', 'succeeded']);
  const emails = (await history(gw().fhirBase, `Patient/${id}`)).map(emailOf);
  expect(emails).not.toContain('cancel-second@example.org');
  expect(emails[emails.length - 1]).toBe('cancel-third@example.org');
});

it('parks a conflicting write for review, lists it, dry-runs a replay without changing anything, and retries it once fixed', async () => {
  const id = patientId(160);
  const seen = (await http('GET', `${gw().fhirBase}/Patient/${id}`)).body;
  // The front desk changes the email in the EHR after the agent read the record.
  const changed = {
    ...seen,
    telecom: [
      ...(seen.telecom ?? []).filter((t: any) => t.system !== 'email'),
      { system: 'email', value: 'desk@example.org' },
    ],
  };
  expect(
    (
      await http('PUT', `${gw().fhirBase}/Patient/${id}`, {
        body: changed,
        headers: { 'content-type': 'application/fhir+json' },
      })
    ).status,
  ).toBe(200);
  const res = await http('PATCH', `${gw().url}/v1/patients/${id}`, {
    body: { email: 'agent@example.org' },
    headers: { 'if-match': `W/"${seen.meta.versionId as string}"` },
  });
  const [parked] = await waitForFinal(gw().url, [res.body.operationId as string]);
  expect(parked.status).toBe('needs-review');

  const listed = await http('GET', `${gw().url}/v1/operations?status=needs-review&patient=${id}`);
  expect(listed.body.operations.map((o: any) => o.operationId)).toEqual([parked.operationId]);

  const versionsBefore = (await history(gw().fhirBase, `Patient/${id}`)).length;
  const dry = await http('POST', `${gw().url}/v1/operations/replay`, {
    body: { status: ['needs-review'], dryRun: true },
  });
  expect(dry.status).toBe(200);
  expect(dry.body.operations.map((o: any) => o.operationId)).toContain(parked.operationId);
  expect((await receipt(gw().url, parked.operationId as string)).status).toBe('needs-review');
  expect((await history(gw().fhirBase, `Patient/${id}`)).length).toBe(versionsBefore);

  // The agent confirms their change should win: retry applies it to the current record, once.
  const retried = await http('POST', `${gw().url}/v1/operations/${parked.operationId as string}/retry`);
  expect(retried.status).toBe(202);
  const [done] = await waitForFinal(gw().url, [parked.operationId as string]);
  expect(done.status).toBe('succeeded');
  const versions = await history(gw().fhirBase, `Patient/${id}`);
  expect(versions.length).toBe(versionsBefore + 1);
  expect(emailOf(versions[versions.length - 1])).toBe('agent@example.org');
  expect((await http('POST', `${gw().url}/v1/operations/${parked.operationId as string}/retry`)).status).toBe(
    409,
  );
});

it('answers with the final receipt when the EHR is quick and Prefer: wait is sent', async () => {
  const res = await http('PATCH', `${gw().url}/v1/patients/${patientId(170)}`, {
    body: { email: 'quick@example.org' },
    headers: { prefer: 'wait=10' },
  });
  expect(res.status).toBe(200);
  expect(res.body.status).toBe('succeeded');
  expect(res.headers.get('preference-applied')).toBe('wait=10');
});

it('answers 202 after the wait when the EHR is down', async () => {
  await setFaults(gw().url, { mode: 'down', kind: 'http503' });
  const res = await http('PATCH', `${gw().url}/v1/patients/${patientId(171)}`, {
    body: { email: 'slow-day@example.org' },
    headers: { prefer: 'wait=1' },
  });
  expect(res.status).toBe(202);
  expect(['queued', 'sending']).toContain(res.body.status);
});

it('waits out an EHR that throttles (429 + Retry-After) without opening the breaker or spending retry attempts', async () => {
  await setFaults(gw().url, { mode: 'down', kind: 'http429', retryAfterSeconds: 1, durationMs: 2500 });
  const id = await patchEmail(patientId(175), 'throttled@example.org');
  const [done] = await waitForFinal(gw().url, [id]);
  expect(done.status).toBe('succeeded');
  expect(done.attempts).toBeGreaterThan(1);
  expect(done.history.some((h: any) => h.error?.code === 'EHR_THROTTLED')).toBe(true);
  expect((await http('GET', `${gw().url}/v1/status`)).body.connections.sandbox.breaker.state).toBe('closed');

  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('writes-sandbox', { connection, prefix: `{${gw().prefix}}` });
  try {
    const job = await queue.getJob(id);
    // Throttled tries are rate-limit waits, not failures: of BullMQ's retry budget only the try
    // that succeeded is spent, though the job was started several times.
    expect(job).toBeDefined();
    expect(job?.attemptsMade).toBe(1);
    expect(job?.attemptsStarted).toBeGreaterThan(1);
  } finally {
    await queue.close();
    connection.disconnect();
  }
});
