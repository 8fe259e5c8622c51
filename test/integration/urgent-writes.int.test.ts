/**
 * Urgent work first, order kept: after an outage, a booking for the next hours overtakes the
 * routine corrections of other patients queued before it, never a write of its own patient, and
 * everything reaches the EHR once. Checked on the EHR's own records and on the receipts.
 */
import { http } from '../support/http';
import { emailOf, history, receipt, setFaults, waitForFinal } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';
import { appointmentsHoldingSlot } from '../support/slot-bookings';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(120000);

let gw: TestGateway;
let agent: Record<string, string>;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      // One write at a time reaches the EHR, so the order the drain serves is the order the EHR
      // sees; the worker holds 16 at once, waiting in its line for the permit, so the line's order
      // (most urgent first) is what is tested, not BullMQ's alone.
      // The offered start is read from the cache within a quarter of this budget: on a loaded test
      // machine 500 ms is not always enough, and a missed start would make a booking routine.
      queue: { concurrency: 16, enqueueTimeoutMs: 10000 },
      connections: {
        sandbox: {
          maxWritesPerSecond: 0,
          breaker: { failureThreshold: 1, probeIntervalMs: 400 },
          drain: { adaptive: true, initialLimit: 1, minLimit: 1, maxLimit: 1 },
        },
      },
    },
  });
  agent = await scopedClient(gw.prefix, 'urgency-agent', [
    'patients:write',
    'appointments:read',
    'appointments:write',
    'operations:read',
  ]);
});

afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
  // The next test starts with the EHR reachable, whatever this one left queued or failed.
  await waitFor(async () => ((await status()).breaker.state === 'closed' ? true : undefined), {
    what: 'the breaker to close',
  });
});

afterAll(async () => {
  await gw.stop();
});

const patientId = (n: number): string => `pat-${String(n).padStart(4, '0')}`;
const HOUR = 3_600_000;

/**
 * Free slots starting a few hours from now, made in the EHR from an existing slot's schedule: the
 * seeded calendar has none within 48 h on a weekend.
 */
async function slotsSoon(count: number, hoursAhead: number): Promise<string[]> {
  const far = await http(
    'GET',
    `${gw.url}/v1/slots?from=${new Date(Date.now() + 5 * 86_400_000).toISOString()}&limit=1`,
  );
  const template = (await http('GET', `${gw.fhirBase}/Slot/${far.body.slots[0].id as string}`)).body;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const start = new Date(Date.now() + hoursAhead * HOUR + i * 30 * 60_000);
    const created = await http('POST', `${gw.fhirBase}/Slot`, {
      body: {
        resourceType: 'Slot',
        schedule: template.schedule,
        status: 'free',
        ...(template.serviceType ? { serviceType: template.serviceType } : {}),
        ...(template.extension ? { extension: template.extension } : {}),
        start: start.toISOString(),
        end: new Date(start.getTime() + 30 * 60_000).toISOString(),
      },
    });
    expect(created.status).toBe(201);
    ids.push(created.body.id as string);
  }
  // The agent is offered them while the EHR is up: that is how acceptance learns when they start.
  const from = new Date(Date.now() + (hoursAhead - 1) * HOUR).toISOString();
  const to = new Date(Date.now() + (hoursAhead + count) * HOUR).toISOString();
  const offered = await http('GET', `${gw.url}/v1/slots?from=${from}&to=${to}&limit=50`, { headers: agent });
  expect(offered.status).toBe(200);
  const offeredIds = (offered.body.slots as { id: string }[]).map((s) => s.id);
  for (const id of ids) expect(offeredIds).toContain(id);
  return ids;
}

async function patchEmail(id: string, email: string): Promise<any> {
  const res = await http('PATCH', `${gw.url}/v1/patients/${id}`, { body: { email }, headers: agent });
  expect(res.status).toBe(202);
  return res.body;
}

async function book(patient: string, slotId: string): Promise<any> {
  const res = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId: patient, slotId, mode: 'in-person' },
    headers: agent,
  });
  expect(res.status).toBe(202);
  return res.body;
}

async function status(): Promise<any> {
  return (await http('GET', `${gw.url}/v1/status`)).body.connections.sandbox;
}

const succeededAt = (r: any): number =>
  Date.parse((r.history as { status: string; at: string }[]).find((h) => h.status === 'succeeded')!.at);

const appointmentsOnSlot = (slotId: string): Promise<any[]> => appointmentsHoldingSlot(gw.fhirBase, slotId);

it("serves an urgent booking before other patients' routine writes queued earlier, never before its own patient's", async () => {
  const [slotP, slotQ] = await slotsSoon(2, 20);
  await setFaults(gw.url, { mode: 'down', kind: 'http503' });

  const routine = new Map<string, string>();
  const routineIds: string[] = [];
  for (let p = 0; p < 30; p++) {
    const id = patientId(20 + p);
    const email = `routine-${p}@example.org`;
    const r = await patchEmail(id, email);
    expect(r).toMatchObject({ urgency: 'routine', urgencyReason: null });
    routine.set(id, email);
    routineIds.push(r.operationId as string);
  }
  await waitFor(async () => ((await status()).breaker.state === 'open' ? true : undefined), {
    what: 'the breaker to open',
  });

  const P = patientId(60);
  const Q = patientId(61);
  const pUpdate = await patchEmail(P, 'p-first@example.org');
  const pBooking = await book(P, slotP!);
  const qBooking = await book(Q, slotQ!);
  expect(pUpdate).toMatchObject({ urgency: 'routine', status: 'queued' });
  // Taken while the EHR was down: the start the agent was offered made them urgent.
  expect(pBooking).toMatchObject({ urgency: 'urgent', urgencyReason: 'appointment-within-48h' });
  expect(qBooking).toMatchObject({ urgency: 'urgent', urgencyReason: 'appointment-within-48h' });
  // Nothing drains while the EHR is down: no time can be promised.
  expect((await receipt(gw.url, qBooking.operationId as string)).expectedBy).toBeNull();

  const down = await status();
  expect(down.queue.pending).toEqual({ urgent: 2, routine: 31 });
  // P's lane holds an urgent write: it is served as urgent, its routine head with it. A lane whose
  // head a worker is just trying (and failing) is not waiting at that instant: poll until both are.
  await waitFor(async () => ((await status()).queue.lanesWaiting.urgent === 2 ? true : undefined), {
    what: 'both urgent lanes waiting',
    timeoutMs: 15_000,
  });

  await setFaults(gw.url, { mode: 'up' });
  const all = [...routineIds, pUpdate.operationId, pBooking.operationId, qBooking.operationId] as string[];
  const receipts = await waitForFinal(gw.url, all);
  expect(receipts.map((r) => r.status)).toEqual(Array(all.length).fill('succeeded'));
  const byId = new Map(receipts.map((r) => [r.operationId as string, r]));
  const routineTimes = routineIds.map((id) => succeededAt(byId.get(id)));
  const before = (op: any): number =>
    routineTimes.filter((t) => t < succeededAt(byId.get(op.operationId))).length;
  // A routine write or two may already be in hand when the EHR returns; the rest wait.
  expect(before(qBooking)).toBeLessThanOrEqual(3);
  expect(before(pBooking)).toBeLessThanOrEqual(3);

  // P's own order holds, as the EHR recorded it: the update, then the booking.
  const pVersions = await history(gw.fhirBase, `Patient/${P}`);
  const updated = pVersions.find((v) => emailOf(v) === 'p-first@example.org');
  expect(updated).toBeDefined();
  const [pAppointment, ...morePAppointments] = await appointmentsOnSlot(slotP!);
  expect(morePAppointments).toHaveLength(0);
  expect(pAppointment.participant.map((x: any) => x.actor?.reference)).toContain(`Patient/${P}`);
  expect(Date.parse(pAppointment.meta.lastUpdated)).toBeGreaterThanOrEqual(
    Date.parse(updated.meta.lastUpdated),
  );
  expect(succeededAt(byId.get(pBooking.operationId))).toBeGreaterThan(
    succeededAt(byId.get(pUpdate.operationId)),
  );
  expect(await appointmentsOnSlot(slotQ!)).toHaveLength(1);

  // Every routine write applied once.
  for (const [id, email] of routine) {
    const seen = (await history(gw.fhirBase, `Patient/${id}`)).map(emailOf);
    expect(seen.filter((e, i) => e === email && seen[i - 1] !== email)).toHaveLength(1);
  }
  const after = await status();
  expect(after.queue.pending).toEqual({ urgent: 0, routine: 0 });
});

it('tells a waiting write when it is expected while the queue drains, and nothing once it is final', async () => {
  // Slow enough that a backlog of a dozen writes takes seconds to drain.
  await setFaults(gw.url, { mode: 'slow', latencyMs: 150 });
  const ids: string[] = [];
  for (let p = 0; p < 24; p++)
    ids.push((await patchEmail(patientId(80 + p), `eta-${p}@example.org`)).operationId);
  const last = ids[ids.length - 1]!;
  const waiting = await waitFor(
    async () => {
      const r = await receipt(gw.url, last);
      if (r.status !== 'queued') throw new Error(`the last write is already ${r.status as string}`);
      return r.expectedBy !== null ? r : undefined;
    },
    { what: 'a drain rate to estimate from', timeoutMs: 30000, intervalMs: 100 },
  );
  expect(Date.parse(waiting.expectedBy)).toBeGreaterThanOrEqual(Date.parse(waiting.createdAt));
  expect(waiting.urgency).toBe('routine');
  const [final] = await waitForFinal(gw.url, [last]);
  expect(final).toMatchObject({ status: 'succeeded', expectedBy: null });
  await waitForFinal(gw.url, ids);
});

it('takes Prefer: priority=urgent only from a client holding writes:urgent, and priority=routine from any', async () => {
  const supervisor = await scopedClient(gw.prefix, 'urgency-supervisor', ['patients:write', 'writes:urgent']);
  const plain = await scopedClient(gw.prefix, 'urgency-plain', ['patients:write']);
  await setFaults(gw.url, { mode: 'down', kind: 'http503' });
  const patch = (headers: Record<string, string>, key: string): Promise<any> =>
    http('PATCH', `${gw.url}/v1/patients/${patientId(120)}`, {
      body: { email: `${key}@example.org` },
      headers: { ...headers, 'idempotency-key': key },
    });

  const refused = await patch({ ...plain, prefer: 'priority=urgent' }, 'urgent-plain');
  expect(refused.status).toBe(403);
  expect(refused.body).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'writes:urgent' });
  // Nothing was taken: the same key without the header is a new write, not a replay.
  const retried = await patch(plain, 'urgent-plain');
  expect(retried.status).toBe(202);
  expect(retried.body.replayed).toBeUndefined();
  expect(retried.body.urgency).toBe('routine');

  const raised = await patch(
    { ...supervisor, prefer: 'respond-async, priority=urgent' },
    'urgent-supervisor',
  );
  expect(raised.status).toBe(202);
  expect(raised.body).toMatchObject({ urgency: 'urgent', urgencyReason: 'requested' });
  expect(raised.headers.get('preference-applied')).toContain('priority=urgent');

  const lowered = await patch({ ...plain, prefer: 'priority=routine' }, 'routine-plain');
  expect(lowered.status).toBe(202);
  expect(lowered.body).toMatchObject({ urgency: 'routine', urgencyReason: null });

  const unknown = await patch({ ...supervisor, prefer: 'priority=high' }, 'high');
  expect(unknown.status).toBe(400);
  expect(unknown.body.code).toBe('VALIDATION');
});

it('makes a callback urgent by its priority, and a booking weeks away routine', async () => {
  const desk = await scopedClient(gw.prefix, 'urgency-desk', ['calls:write', 'appointments:write']);
  // The test before left the EHR down a while: reads wait for the breaker to close again.
  await waitFor(async () => ((await status()).breaker.state === 'closed' ? true : undefined), {
    what: 'the breaker to close',
  });
  const later = await http(
    'GET',
    `${gw.url}/v1/slots?from=${new Date(Date.now() + 10 * 86_400_000).toISOString()}&limit=1`,
    { headers: agent },
  );
  expect(later.status).toBe(200);
  const farBooking = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId: patientId(131), slotId: later.body.slots[0].id, mode: 'in-person' },
    headers: { ...desk, prefer: 'wait=10' },
  });
  expect(farBooking.status).toBe(201);
  expect(farBooking.body).toMatchObject({ urgency: 'routine', urgencyReason: null, expectedBy: null });

  await setFaults(gw.url, { mode: 'down', kind: 'http503' });
  const callback = (priority: string): Promise<any> =>
    http('POST', `${gw.url}/v1/callbacks`, {
      body: { patientId: patientId(130), phone: '(617) 555-0142', priority },
      headers: desk,
    });
  const urgent = await callback('urgent');
  expect(urgent.status).toBe(202);
  expect(urgent.body).toMatchObject({ urgency: 'urgent', urgencyReason: 'callback-urgent' });
  const routine = await callback('routine');
  expect(routine.body).toMatchObject({ urgency: 'routine', urgencyReason: null });
  await setFaults(gw.url, { mode: 'up' });
  await waitForFinal(gw.url, [urgent.body.operationId as string, routine.body.operationId as string]);
});

it('stops counting an urgent write as urgent backlog once an operator cancels it, and never sends it', async () => {
  const [slot] = await slotsSoon(1, 30);
  const operator = await scopedClient(gw.prefix, 'urgency-operator', ['operations:admin', 'operations:read']);
  await setFaults(gw.url, { mode: 'down', kind: 'http503' });
  const R = patientId(140);
  const update = await patchEmail(R, 'r-first@example.org');
  const booking = await book(R, slot!);
  expect(booking.urgency).toBe('urgent');
  expect((await status()).queue.pending.urgent).toBe(1);

  const cancelled = await http('POST', `${gw.url}/v1/operations/${booking.operationId as string}/cancel`, {
    headers: operator,
  });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body).toMatchObject({ status: 'cancelled', urgency: 'urgent', expectedBy: null });
  expect((await status()).queue.pending).toEqual({ urgent: 0, routine: 1 });

  await setFaults(gw.url, { mode: 'up' });
  const [done] = await waitForFinal(gw.url, [update.operationId as string]);
  expect(done.status).toBe('succeeded');
  expect(await appointmentsOnSlot(slot!)).toHaveLength(0);
});

it('puts an urgent write that arrives while the worker already holds a line of routine writes at the head of that line', async () => {
  const [slot] = await slotsSoon(1, 30);
  // The EHR is up but slow: one write at a time, each a few hundred ms, and the worker holds 16.
  await setFaults(gw.url, { mode: 'slow', latencyMs: 250 });
  const routineIds = await Promise.all(
    Array.from(
      { length: 24 },
      async (_v, p) => (await patchEmail(patientId(100 + p), `line-${p}@example.org`)).operationId as string,
    ),
  );
  // Wait until the worker holds its line: writes are being sent and more wait behind them.
  await waitFor(
    async () => {
      const s = await status();
      return s.drain.limit.inFlight === 1 && s.queue.queued >= 15 ? true : undefined;
    },
    { what: 'the worker to hold a line of routine writes' },
  );
  const urgent = await book(patientId(130), slot!);
  expect(urgent).toMatchObject({ urgency: 'urgent' });
  const receipts = await waitForFinal(gw.url, [...routineIds, urgent.operationId as string], 120_000);
  expect(receipts.map((r) => r.status)).toEqual(receipts.map(() => 'succeeded'));
  const urgentAt = succeededAt(receipts[receipts.length - 1]);
  const routineAfter = receipts.slice(0, -1).filter((r) => succeededAt(r) > urgentAt).length;
  // Taken by the worker only once a place frees, then first in its line: the routine writes the
  // worker already held (about 15) land after it, not before. Served in arrival order, it would
  // wait behind them and only the 8 or so BullMQ still held would come after it.
  expect(routineAfter).toBeGreaterThanOrEqual(15);
  expect(await appointmentsOnSlot(slot!)).toHaveLength(1);
});
