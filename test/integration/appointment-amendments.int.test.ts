/**
 * Convert a visit to video or phone, and hold one for reschedule, checked in the EHR: the same
 * time and slot with the new mode in one new version; `waitlist` with the slot free; queued while
 * the EHR is down and applied once when it returns; replays and repeats change nothing; desks hear
 * `appointment.rescheduled` with what changed and nothing about the patient.
 */
import { createServer, type Server } from 'node:http';
import { http } from '../support/http';
import { history, setFaults, waitForFinal } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

const MODE_URL = 'https://continuum.example/fhir/StructureDefinition/appointment-mode';
const SECRET = `whsec_${Buffer.from('appointment-amendments-secret').toString('base64')}`;

interface Received {
  readonly type: string;
  readonly data: Record<string, unknown>;
}

let gw: TestGateway;
let server: Server;
const received: Received[] = [];
/** A scheduling desk's client: appointments and receipts, nothing else. */
let desk: Record<string, string>;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: {
        sandbox: { maxWritesPerSecond: 0, breaker: { failureThreshold: 3, probeIntervalMs: 400 } },
      },
      events: {
        subscribers: [
          { kind: 'webhook', name: 'desk', url: `http://127.0.0.1:${port}/events`, secret: SECRET },
        ],
      },
    },
  });
  desk = await scopedClient(gw.prefix, 'scheduling-desk', [
    'appointments:read',
    'appointments:write',
    'operations:read',
  ]);
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});
afterAll(async () => {
  await gw.stop();
  await new Promise((resolve) => server.close(resolve));
});

const ehr = async (path: string): Promise<any> => (await http('GET', `${gw.fhirBase}/${path}`)).body;
const modeOf = (appointment: any): string | undefined =>
  (appointment.extension ?? []).find((e: { url: string }) => e.url === MODE_URL)?.valueCode;

let dayOffset = 9;
/** A free slot on a day no other test here uses; `days` pins the day (1: tomorrow). */
async function freeSlot(days = dayOffset++): Promise<string> {
  const from = new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
  const res = await http('GET', `${gw.url}/v1/slots?from=${from}&limit=1`, { headers: desk });
  const [slot] = res.body.slots as { id: string }[];
  if (!slot) throw new Error('no free slot');
  return slot.id;
}

/** An in-person visit booked through the gateway. */
async function booked(patientId: string, days?: number): Promise<{ id: string; slot: string }> {
  const slot = await freeSlot(days);
  const res = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId, slotId: slot },
    headers: { ...desk, prefer: 'wait=10' },
  });
  expect(res.status).toBe(201);
  return { id: (res.body.resourceRef as string).replace('Appointment/', ''), slot };
}

async function amend(
  id: string,
  action: 'convert' | 'hold',
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<any> {
  return http('POST', `${gw.url}/v1/appointments/${id}/${action}`, {
    body,
    headers: { ...desk, prefer: 'wait=10', ...headers },
  });
}

const eventsFor = (operationId: string, type: string): Received[] =>
  received.filter((e) => e.type === type && e.data.operationId === operationId);

it('converts a booked in-person visit to video: same start, same slot, one new version', async () => {
  const { id, slot } = await booked('pat-0101', 1);
  const before = await ehr(`Appointment/${id}`);
  expect(modeOf(before)).toBe('in-person');

  const res = await amend(
    id,
    'convert',
    { mode: 'video', reason: 'weather' },
    { 'idempotency-key': `cv-${id}` },
  );
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    status: 'succeeded',
    kind: 'appointment.convert',
    patientId: 'pat-0101',
    resourceRef: `Appointment/${id}`,
    // Tomorrow's visit: a closure's conversions must not wait behind routine writes.
    urgency: 'urgent',
    urgencyReason: 'appointment-within-48h',
  });

  const after = await ehr(`Appointment/${id}`);
  expect(modeOf(after)).toBe('video');
  expect(after.status).toBe('booked');
  expect(after.start).toBe(before.start);
  expect(after.end).toBe(before.end);
  expect(after.slot).toEqual(before.slot);
  expect(after.participant).toEqual(before.participant);
  expect(Number(after.meta.versionId)).toBe(Number(before.meta.versionId) + 1);
  expect((await ehr(`Slot/${slot}`)).status).toBe('busy');

  // The gateway's own read shows the new mode.
  const list = await http(
    'GET',
    `${gw.url}/v1/patients/pat-0101/appointments?from=${encodeURIComponent(before.start)}`,
    {
      headers: desk,
    },
  );
  expect(list.body.appointments.find((a: { id: string }) => a.id === id)).toMatchObject({
    mode: 'video',
    status: 'booked',
  });

  // The same request again (a replay by key) is the same operation; nothing is written twice.
  const replay = await amend(
    id,
    'convert',
    { mode: 'video', reason: 'weather' },
    { 'idempotency-key': `cv-${id}` },
  );
  expect(replay.body.operationId).toBe(res.body.operationId);
  // A new request for the mode it has is a success with no change, and says so.
  const again = await amend(id, 'convert', { mode: 'video' });
  expect(again.status).toBe(200);
  expect(again.body.operationId).not.toBe(res.body.operationId);
  expect(again.body.status).toBe('succeeded');
  expect(again.body.history.at(-1).note).toMatch(/already a video visit/);
  expect((await ehr(`Appointment/${id}`)).meta.versionId).toBe(after.meta.versionId);

  const [event] = await waitFor(
    async () => {
      const found = eventsFor(res.body.operationId as string, 'appointment.rescheduled');
      return found.length > 0 ? found : undefined;
    },
    { timeoutMs: 15000, what: 'appointment.rescheduled for the conversion' },
  );
  expect(event?.data).toMatchObject({
    change: 'mode',
    mode: 'video',
    kind: 'appointment.convert',
    resourceRef: `Appointment/${id}`,
    patientId: 'pat-0101',
    source: 'continuum',
  });
  // References and codes only: nothing about who the patient is or why they came.
  expect(Object.keys(event?.data ?? {}).sort()).toEqual(
    [
      'change',
      'connection',
      'kind',
      'mode',
      'operationId',
      'patientId',
      'resourceRef',
      'source',
      'status',
    ].sort(),
  );
});

it('converts a video visit to a phone visit, keeping other extensions', async () => {
  const { id } = await booked('pat-0102');
  expect((await amend(id, 'convert', { mode: 'video' })).body.status).toBe('succeeded');
  const res = await amend(id, 'convert', { mode: 'phone' });
  expect(res.body.status).toBe('succeeded');
  const after = await ehr(`Appointment/${id}`);
  expect(modeOf(after)).toBe('phone');
  expect((after.extension as { url: string }[]).filter((e) => e.url === MODE_URL)).toHaveLength(1);
});

it('holds a visit for reschedule: waitlist, reason coded, slot free; a second hold changes nothing', async () => {
  const { id, slot } = await booked('pat-0103');
  const before = await ehr(`Appointment/${id}`);
  const res = await amend(id, 'hold', { reason: 'weather' });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ status: 'succeeded', kind: 'appointment.hold', patientId: 'pat-0103' });
  const after = await ehr(`Appointment/${id}`);
  expect(after.status).toBe('waitlist');
  expect(after.start).toBe(before.start);
  const holdReason = (after.extension as { url: string; valueCodeableConcept?: any }[]).find((e) =>
    e.url.endsWith('/hold-reason'),
  );
  expect(holdReason?.valueCodeableConcept.coding).toEqual([
    { system: 'http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason', code: 'oth-weath' },
  ]);
  expect(Number(after.meta.versionId)).toBe(Number(before.meta.versionId) + 1);
  expect((await ehr(`Slot/${slot}`)).status).toBe('free');
  // The freed time can be booked by someone else.
  const taken = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId: 'pat-0104', slotId: slot },
    headers: { ...desk, prefer: 'wait=10' },
  });
  expect(taken.status).toBe(201);

  const again = await amend(id, 'hold', {});
  expect(again.body.status).toBe('succeeded');
  expect(again.body.history.at(-1).note).toMatch(/already held/);
  expect((await ehr(`Appointment/${id}`)).meta.versionId).toBe(after.meta.versionId);

  const list = await http(
    'GET',
    `${gw.url}/v1/patients/pat-0103/appointments?from=${encodeURIComponent(before.start)}`,
    {
      headers: desk,
    },
  );
  expect(list.body.appointments.find((a: { id: string }) => a.id === id)).toMatchObject({
    status: 'waitlist',
    cancellationReason: 'weather',
  });

  const [event] = await waitFor(
    async () => {
      const found = eventsFor(res.body.operationId as string, 'appointment.rescheduled');
      return found.length > 0 ? found : undefined;
    },
    { timeoutMs: 15000, what: 'appointment.rescheduled for the hold' },
  );
  expect(event?.data).toMatchObject({
    change: 'held',
    kind: 'appointment.hold',
    resourceRef: `Appointment/${id}`,
  });
});

it('queues a conversion while the EHR is down, shows it pending, and applies it once on recovery', async () => {
  const { id } = await booked('pat-0105');
  const before = await ehr(`Appointment/${id}`);
  const versionsBefore = (await history(gw.fhirBase, `Appointment/${id}`)).length;
  const listUrl = `${gw.url}/v1/patients/pat-0105/appointments?from=${encodeURIComponent(before.start)}`;
  expect((await http('GET', listUrl, { headers: desk })).body.freshness.source).toBe('ehr');

  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
  const res = await http('POST', `${gw.url}/v1/appointments/${id}/convert`, {
    body: { mode: 'phone', patientId: 'pat-0105' },
    headers: desk,
  });
  expect(res.status).toBe(202);
  expect(res.body.status).toBe('queued');
  const list = await http('GET', listUrl, { headers: desk });
  expect(list.body.freshness.source).toBe('cache');
  expect(list.body.appointments.find((a: { id: string }) => a.id === id)).toMatchObject({
    mode: 'phone',
    pending: { operationId: res.body.operationId, kind: 'appointment.convert' },
  });

  await setFaults(gw.url, { mode: 'up' });
  const [final] = await waitForFinal(gw.url, [res.body.operationId as string]);
  expect(final.status).toBe('succeeded');
  const versions = await history(gw.fhirBase, `Appointment/${id}`);
  console.log(
    `conversion after recovery: ${final.attempts} attempt(s), ${versions.length - versionsBefore} new version(s)`,
  );
  expect(versions.length).toBe(versionsBefore + 1);
  expect(versions.map(modeOf).filter((m) => m === 'phone')).toHaveLength(1);
  expect((await ehr(`Appointment/${id}`)).start).toBe(before.start);
});

it('refuses what cannot be done, and changes nothing', async () => {
  const cancelled = await booked('pat-0106');
  expect(
    (
      await http('POST', `${gw.url}/v1/appointments/${cancelled.id}/cancel`, {
        headers: { ...desk, prefer: 'wait=10' },
      })
    ).body.status,
  ).toBe('succeeded');
  const version = (await ehr(`Appointment/${cancelled.id}`)).meta.versionId;

  const convertCancelled = await amend(cancelled.id, 'convert', { mode: 'video' });
  expect(convertCancelled.status).toBe(409);
  expect(convertCancelled.body).toMatchObject({ code: 'CONFLICT' });
  expect(convertCancelled.body.detail).toMatch(/cancelled/);
  const holdCancelled = await amend(cancelled.id, 'hold', {});
  expect(holdCancelled.status).toBe(409);
  expect((await ehr(`Appointment/${cancelled.id}`)).meta.versionId).toBe(version);

  const held = await booked('pat-0107');
  expect((await amend(held.id, 'hold', {})).body.status).toBe('succeeded');
  const convertHeld = await amend(held.id, 'convert', { mode: 'video' });
  expect(convertHeld.status).toBe(409);
  expect(convertHeld.body.detail).toMatch(/waitlist/);

  const open = await booked('pat-0108');
  const inPerson = await amend(open.id, 'convert', { mode: 'in-person' });
  expect(inPerson.status).toBe(400);
  expect(inPerson.body.code).toBe('VALIDATION');
  const noMode = await amend(open.id, 'convert', {});
  expect(noMode.status).toBe(400);
  const stray = await amend(open.id, 'hold', { start: '2030-01-01T00:00:00Z' });
  expect(stray.status).toBe(400);
  const otherPatient = await amend(open.id, 'convert', { mode: 'video', patientId: 'pat-0109' });
  expect(otherPatient.status).toBe(404);
  const missing = await amend('no-such-appointment', 'hold', {});
  expect(missing.status).toBe(404);

  const reader = await scopedClient(gw.prefix, 'read-only-desk', ['appointments:read']);
  const forbidden = await http('POST', `${gw.url}/v1/appointments/${open.id}/convert`, {
    body: { mode: 'video' },
    headers: reader,
  });
  expect(forbidden.status).toBe(403);
  const untouched = await ehr(`Appointment/${open.id}`);
  expect(modeOf(untouched)).toBe('in-person');
  expect(untouched.status).toBe('booked');
});

it('keeps the patient out of the logs', async () => {
  const patient = await ehr('Patient/pat-0101');
  const text = gw.logs.text();
  expect(text).toContain('appointment.convert');
  for (const value of [patient.birthDate, patient.name?.[0]?.family, ...(patient.name?.[0]?.given ?? [])]) {
    if (typeof value === 'string' && value.length > 3) expect(text).not.toContain(value);
  }
});
