/**
 * The IVR's one-step "call me back": the number from the patient's record (or its cached copy
 * while the EHR is down), the first callback window with room, a Task in the EHR, exactly once,
 * and windows never over-booked, however many requests arrive at once.
 */
import { upcomingWindows } from '../../src/domain/callback-windows';
import { CACHED_NUMBER_NOTE } from '../../src/use-cases/callback-request';
import { http } from '../support/http';
import { FINAL, setFaults } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

const ALL_DAY = '00:00-24:00';
const WINDOWS = {
  timeZone: 'UTC',
  hours: { sun: ALL_DAY, mon: ALL_DAY, tue: ALL_DAY, wed: ALL_DAY, thu: ALL_DAY, fri: ALL_DAY, sat: ALL_DAY },
  lengthMinutes: 120,
  capacity: 5,
  minRemainingMinutes: 0,
  searchDays: 3,
};
const TENANTS = ['default', 'fill', 'burst', 'down', 'phi'] as const;

jest.setTimeout(120_000);

let gw: TestGateway;
const ivr: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: {
        sandbox: { maxWritesPerSecond: 0, breaker: { failureThreshold: 5, probeIntervalMs: 400 } },
      },
      tenants: Object.fromEntries(TENANTS.map((t) => [t, { connections: ['sandbox'] }])),
      callbacks: { windows: WINDOWS },
    },
  });
  // Receipts are the tenant's own: the IVR reads them with its own key.
  for (const tenant of TENANTS) {
    ivr[tenant] = await scopedClient(gw.prefix, `ivr-${tenant}`, ['calls:write', 'operations:read'], tenant);
  }
});
afterAll(async () => {
  await gw.stop();
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});

const ask = (
  tenant: string,
  patientId: string,
  options: { body?: unknown; headers?: Record<string, string>; query?: string } = {},
) =>
  http('POST', `${gw.url}/v1/patients/${patientId}/callback-request${options.query ?? ''}`, {
    body: options.body ?? {},
    headers: { ...ivr[tenant], ...options.headers },
  });

const fhir = async (path: string): Promise<any> => (await http('GET', `${gw.fhirBase}/${path}`)).body;

/** The patient's dialable numbers as the API reads them (E.164), with the admin key. */
const phonesOf = async (patientId: string): Promise<string[]> =>
  (await http('GET', `${gw.url}/v1/patients/${patientId}`)).body.phones as string[];

/** Receipts read by the tenant's own client, until every one is final. */
const finalReceipts = (tenant: string, operationIds: readonly string[]): Promise<any[]> => {
  let last: string[] = [];
  return waitFor(
    async () => {
      const receipts = await Promise.all(
        operationIds.map(
          async (id) => (await http('GET', `${gw.url}/v1/operations/${id}`, { headers: ivr[tenant] })).body,
        ),
      );
      last = receipts.map((r) => `${String(r.status)}:${String(r.attempts)}:${String(r.lastError?.code)}`);
      return receipts.every((r) => FINAL.includes(r.status as string)) ? receipts : undefined;
    },
    { timeoutMs: 60000, intervalMs: 200, what: `${operationIds.length} callbacks to be sent` },
  ).catch((error: unknown) => {
    console.log('receipts when given up', last);
    throw error;
  });
};

const windowKey = (w: { start: string; end: string }): string => `${w.start}/${w.end}`;

it('queues a callback to the number on record in the first window, a Task in the EHR', async () => {
  const [phone] = await phonesOf('pat-0030');
  const res = await ask('default', 'pat-0030', {
    body: { reason: 'Storm closure: rebook', priority: 'urgent' },
    headers: { prefer: 'wait=10' },
  });
  expect(res.status).toBe(201);
  const expected = upcomingWindows(WINDOWS, new Date())[0];
  expect(res.body).toMatchObject({
    kind: 'callback.request',
    status: 'succeeded',
    patientId: 'pat-0030',
    numberFrom: 'record',
    phoneEnding: phone?.slice(-4),
    window: expect.objectContaining({ end: expect.any(String) }),
  });
  // The window is the current one unless a boundary passed between the two clocks' reads.
  expect([expected?.start, upcomingWindows(WINDOWS, new Date())[0]?.start]).toContain(res.body.window.start);
  const task = await fhir(res.body.resourceRef as string);
  expect(task).toMatchObject({
    resourceType: 'Task',
    status: 'requested',
    priority: 'urgent',
    for: { reference: 'Patient/pat-0030' },
    restriction: { period: res.body.window },
    input: [{ valueString: phone }],
    reasonCode: { text: 'Storm closure: rebook' },
  });
  expect(task.note).toBeUndefined();
});

it('answers flat for IVR flows, takes forms, and refuses what it cannot do', async () => {
  const flat = await ask('default', 'pat-0031', { query: '?shape=flat' });
  expect(flat.status).toBe(202);
  expect(flat.body).toMatchObject({
    status: 'queued',
    numberFrom: 'record',
    window_start: expect.any(String),
    window_end: expect.any(String),
    phoneEnding: expect.stringMatching(/^\d{4}$/),
  });
  expect(Object.values(flat.body).every((v) => typeof v === 'string')).toBe(true);

  const form = await http('POST', `${gw.url}/v1/patients/pat-0032/callback-request`, {
    raw: 'priority=asap&reason=Closure&phone=%28617%29+555-0199',
    headers: { ...ivr.default, 'content-type': 'application/x-www-form-urlencoded', prefer: 'wait=10' },
  });
  expect(form.status).toBe(201);
  expect(form.body).toMatchObject({ numberFrom: 'request', phoneEnding: '0199' });
  expect((await fhir(form.body.resourceRef as string)).input).toEqual([
    expect.objectContaining({ valueString: '+16175550199' }),
  ]);

  const bad = await ask('default', 'pat-0033', { body: { priority: 'whenever', mood: 'calm' } });
  expect(bad.status).toBe(400);
  expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['mood', 'priority']);
  expect((await ask('default', 'pat-0033', { query: '?shape=round' })).status).toBe(400);
  expect((await ask('default', 'no-such-patient')).status).toBe(404);

  const created = await http('POST', `${gw.fhirBase}/Patient`, {
    body: { resourceType: 'Patient', name: [{ family: 'Nophone', given: ['Pat'] }], birthDate: '1970-01-01' },
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(created.status).toBe(201);
  const noPhone = await ask('default', created.body.id as string);
  expect(noPhone.status).toBe(422);
  expect(noPhone.body).toMatchObject({ code: 'NO_CALLBACK_NUMBER' });
  // Nothing was queued for it.
  expect(await fhir(`Task?patient=Patient/${created.body.id as string}`)).not.toHaveProperty('entry');
});

it('fills a window, then offers the next', async () => {
  const windows = upcomingWindows(WINDOWS, new Date());
  const got: string[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await ask('fill', `pat-00${40 + i}`);
    expect(res.status).toBe(202);
    got.push(res.body.window.start as string);
  }
  console.log('sequential windows', got);
  const first = windows.findIndex((w) => w.start === got[0]);
  expect(first).toBeGreaterThanOrEqual(0);
  expect(got).toEqual([...Array(5).fill(windows[first]?.start), windows[first + 1]?.start]);
});

it('books 20 requests at once into capacity 5 as 4 full windows, none over, and a retry takes no place', async () => {
  const before = upcomingWindows(WINDOWS, new Date());
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      // Numbers given, so the burst measures the windows, not 20 cold EHR reads on a loaded machine.
      ask('burst', `pat-01${String(i).padStart(2, '0')}`, {
        body: { phone: `+1617555${String(1000 + i)}` },
        headers: { 'idempotency-key': `burst-${i}` },
      }),
    ),
  );
  expect(answers.map((a) => [a.status, a.body.code])).toEqual(Array(20).fill([202, undefined]));
  const perWindow = new Map<string, number>();
  for (const a of answers)
    perWindow.set(windowKey(a.body.window), (perWindow.get(windowKey(a.body.window)) ?? 0) + 1);
  console.log('concurrent windows', Object.fromEntries(perWindow));
  expect([...perWindow.values()]).toEqual([5, 5, 5, 5]);
  const first = before.findIndex((w) => windowKey(w) === [...perWindow.keys()].sort()[0]);
  expect([...perWindow.keys()].sort()).toEqual(before.slice(first, first + 4).map(windowKey));

  // The IVR retries one: the same operation and window, and no place taken for it.
  const retry = await ask('burst', 'pat-0103', {
    body: { phone: '+16175551003' },
    headers: { 'idempotency-key': 'burst-3' },
  });
  expect(retry.body).toMatchObject({ operationId: answers[3]?.body.operationId, replayed: true });
  expect(retry.body.window).toEqual(answers[3]?.body.window);
  const next = await ask('burst', 'pat-0120');
  expect(windowKey(next.body.window)).toBe(windowKey(before[first + 4] ?? { start: '', end: '' }));

  // Each became exactly one Task in the EHR.
  const receipts = await finalReceipts(
    'burst',
    answers.map((a) => a.body.operationId as string),
  );
  expect(receipts.map((r) => r.status)).toEqual(Array(20).fill('succeeded'));
  for (const r of receipts.slice(0, 3)) {
    const tasks = await fhir(`Task?identifier=urn:continuum:operation|${r.operationId as string}`);
    expect(tasks.entry).toHaveLength(1);
  }
});

it('takes the number from the cached record while the EHR is down, and says so', async () => {
  const [phone] = await phonesOf('pat-0060');
  await setFaults(gw.url, { mode: 'down' });
  const started = Date.now();
  const res = await ask('down', 'pat-0060', { body: { reason: 'Closure' } });
  console.log('answered from the cache in', Date.now() - started, 'ms');
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ status: 'queued', numberFrom: 'cache', phoneEnding: phone?.slice(-4) });
  // Never read before: nothing cached to call.
  const unknown = await ask('down', 'pat-0061');
  expect(unknown.status).toBe(503);
  expect(unknown.body.code).toBe('EHR_UNAVAILABLE');

  await setFaults(gw.url, { mode: 'up' });
  const [done] = await finalReceipts('down', [res.body.operationId as string]);
  console.log('sent after the EHR came back in', Date.now() - started, 'ms');
  expect(done.status).toBe('succeeded');
  const task = await fhir(done.resourceRef as string);
  expect(task).toMatchObject({
    input: [{ valueString: phone }],
    note: [{ text: CACHED_NUMBER_NOTE }],
    restriction: { period: res.body.window },
  });
});

it('keeps the patient’s numbers and names out of the logs', async () => {
  const patient = await fhir('Patient/pat-0070');
  const phones = await phonesOf('pat-0070');
  const res = await ask('phi', 'pat-0070', { headers: { prefer: 'wait=10' } });
  expect(res.status).toBe(201);
  await waitFor(() => Promise.resolve(gw.logs.text().includes(res.body.operationId as string) || undefined), {
    what: 'the write in the logs',
  });
  const logs = gw.logs.text();
  const marks = [
    ...phones,
    ...phones.map((p) => p.slice(2)),
    ...(patient.name?.[0]?.given ?? []),
    patient.name?.[0]?.family,
  ].filter((v): v is string => typeof v === 'string' && v.length > 3);
  expect(marks.length).toBeGreaterThan(2);
  for (const mark of marks) expect({ mark, logged: logs.includes(mark) }).toEqual({ mark, logged: false });
});
