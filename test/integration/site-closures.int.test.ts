/**
 * Site closures, as a crisis lead and an IVR use them: a dry run counts what the EHR holds and
 * changes nothing; a real run cancels every visit at the location in the window once, arranges one
 * callback per patient, answers a second submission with the first closure, and tells each patient
 * what happened in words; a tenant confined to locations cannot close another's.
 */
import { http } from '../support/http';
import { setFaults, useSandboxGateway } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';
import { waitFor } from '../support/wait-for';

const gw = useSandboxGateway({ failureThreshold: 50 });

const LOCATION = 'loc-0002';
// One anchor for the whole file: a closure's id is derived from its window, so a window that moved
// because the clock crossed an hour between two submissions would be another closure.
const ANCHOR = Date.now();
const hoursFromNow = (hours: number): string => {
  const at = new Date(ANCHOR + hours * 3_600_000);
  at.setUTCMinutes(0, 0, 0);
  return at.toISOString();
};

/** What the EHR holds: the visits still to come at the location in the window. */
async function visitsInEhr(from: string, to: string, location = LOCATION): Promise<any[]> {
  const found: any[] = [];
  let url: string | undefined = `${gw().fhirBase}/Appointment?date=ge${from}&date=lt${to}&_count=100`;
  while (url !== undefined) {
    const page: any = (await http('GET', url)).body;
    found.push(...((page.entry ?? []) as { resource: any }[]).map((e) => e.resource));
    url = (page.link ?? []).find((l: any) => l.relation === 'next')?.url;
  }
  return found.filter(
    (a) =>
      ['booked', 'pending', 'proposed'].includes(a.status) &&
      (a.participant ?? []).some((p: any) => p.actor?.reference === `Location/${location}`) &&
      Date.parse(a.start) >= Date.parse(from) &&
      Date.parse(a.start) < Date.parse(to),
  );
}

const closure = (from: string, to: string, extra: Record<string, unknown> = {}) => ({
  locations: [LOCATION],
  from,
  to,
  action: 'cancel',
  reason: 'weather',
  callback: { priority: 'urgent', window: { start: hoursFromNow(1), end: hoursFromNow(3) } },
  ...extra,
});

it('counts in a dry run what the EHR holds at the location, and changes nothing', async () => {
  const from = hoursFromNow(1);
  const to = hoursFromNow(49);
  const expected = await visitsInEhr(from, to);
  const res = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: closure(from, to, { dryRun: true }),
  });
  expect(res.status).toBe(200);
  const patients = new Set(
    expected.map(
      (a) => a.participant.find((p: any) => p.actor.reference.startsWith('Patient/')).actor.reference,
    ),
  );
  console.log(
    `dry run: ${res.body.appointments} visits, ${res.body.patients} patients; EHR ${expected.length}`,
  );
  expect(res.body).toMatchObject({
    dryRun: true,
    appointments: expected.length,
    patients: patients.size,
    timeZone: 'as-written',
    byLocation: [{ location: LOCATION, count: expected.length }],
  });
  expect(expected.length).toBeGreaterThan(0);
  expect(new Set(res.body.appointmentRefs)).toEqual(new Set(expected.map((a) => `Appointment/${a.id}`)));
  expect(new Set(res.body.patientRefs)).toEqual(patients);
  const dayTotal = (res.body.byDay as { count: number }[]).reduce((sum, d) => sum + d.count, 0);
  expect(dayTotal).toBe(expected.length);
  // Nothing changed: every visit still booked, nothing queued, no closure stored.
  expect(await visitsInEhr(from, to)).toHaveLength(expected.length);
  const queued = await http('GET', `${gw().url}/v1/operations?status=queued`);
  expect(queued.body.count).toBe(0);
  const list = await http('GET', `${gw().url}/v1/crisis/closures`);
  expect(list.body.count).toBe(0);
});

const patientOf = (appointment: any): string =>
  appointment.participant.find((p: any) => p.actor?.reference?.startsWith('Patient/')).actor.reference;

it('cancels every visit once, calls each patient back once, and answers a second submission with the first', async () => {
  // The window the dry run counted, which changed nothing.
  const from = hoursFromNow(1);
  const to = hoursFromNow(49);
  const targets = await visitsInEhr(from, to);
  expect(targets.length).toBeGreaterThan(0);
  const res = await http('POST', `${gw().url}/v1/crisis/closures`, { body: closure(from, to) });
  expect(res.status).toBe(202);
  expect(res.body.id).toMatch(/^clo_[a-f0-9]{24}$/);
  expect(res.headers.get('location')).toBe(`/v1/crisis/closures/${res.body.id}`);

  const again = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: closure(from, to, { reason: 'weather' }),
  });
  expect(again.status).toBe(200);
  expect(again.body.id).toBe(res.body.id);

  const done = await waitFor(
    async () => {
      const view = (await http('GET', `${gw().url}/v1/crisis/closures/${res.body.id}`)).body;
      return view.status === 'completed' ? view : undefined;
    },
    { timeoutMs: 60_000, what: 'the closure to complete' },
  );
  const patients = new Set(targets.map(patientOf));
  console.log(
    `closure: ${done.appointments.total} visits, ${done.callbacks.total} callbacks, ${done.ratePerMinute}/min`,
  );
  expect(done).toMatchObject({
    action: 'cancel',
    locations: [LOCATION],
    appointments: { total: targets.length, done: targets.length, failed: 0, remaining: 0 },
    callbacks: { total: patients.size, done: patients.size, failed: 0, remaining: 0 },
    percent: 100,
    eta: null,
    stoppedAt: null,
  });

  // In the EHR: every visit cancelled, in exactly one change; one callback Task per patient.
  for (const target of targets) {
    const now = (await http('GET', `${gw().fhirBase}/Appointment/${target.id}`)).body;
    expect(now.status).toBe('cancelled');
    const history = (await http('GET', `${gw().fhirBase}/Appointment/${target.id}/_history`)).body;
    const cancellations = (history.entry as { resource: any }[]).filter(
      (e) => e.resource.status === 'cancelled',
    );
    expect(cancellations).toHaveLength(1);
  }
  for (const patient of patients) {
    const tasks = (await http('GET', `${gw().fhirBase}/Task?patient=${patient}&_count=50`)).body;
    expect((tasks.entry ?? []).length).toBe(1);
  }

  // A third submission after completion queues nothing new.
  const third = await http('POST', `${gw().url}/v1/crisis/closures`, { body: closure(from, to) });
  expect(third.status).toBe(200);
  expect(third.body).toMatchObject({ id: res.body.id, status: 'completed' });
  const queued = await http('GET', `${gw().url}/v1/operations?status=queued`);
  expect(queued.body.count).toBe(0);

  // What the IVR reads for one patient, flat.
  const one = patientOf(targets[0]).replace('Patient/', '');
  const notices = await http('GET', `${gw().url}/v1/patients/${one}/notices?shape=flat`);
  expect(notices.status).toBe(200);
  expect(notices.body.notices1_kind).toBe('visit-cancelled');
  expect(notices.body.notices1_state).toBe('done');
  // The clinic's own clock, as the EHR wrote the visit: "Thursday 3 December 14:30".
  const local = /T(\d\d:\d\d)/.exec(
    targets
      .filter((t) => patientOf(t) === `Patient/${one}`)
      .sort((a, b) => Date.parse(a.start) - Date.parse(b.start))[0].start,
  )?.[1];
  expect(notices.body.notices1_text).toMatch(
    new RegExp(`^Your \\w+ \\d+ \\w+ ${local} visit at .+ is cancelled because the site is closed\\.$`),
  );
  const last = Number(notices.body.notices_count);
  expect(notices.body[`notices${last}_kind`]).toBe('callback-scheduled');
  expect(notices.body[`notices${last}_text`]).toMatch(
    // A window that ends on the next day names that day too (run in the evening, UTC).
    /^We will call you back between \w+ \d+ \w+ \d\d:\d\d and (\w+ \d+ \w+ )?\d\d:\d\d UTC\.$/,
  );
  expect(notices.body.freshness_source).toBe('ehr');

  // With the EHR down the notices still answer, from Continuum's records.
  await http('POST', `${gw().url}/sandbox/admin/faults`, { body: { mode: 'down' } });
  const offline = await http('GET', `${gw().url}/v1/patients/${one}/notices`);
  expect(offline.status).toBe(200);
  expect(offline.body.freshness.source).toBe('cache');
  expect(offline.body.notices[0]).toMatchObject({ kind: 'visit-cancelled', state: 'done' });
});

it('refuses an Idempotency-Key used for another closure', async () => {
  const key = `closure-key-${Date.now()}`;
  const first = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: closure(hoursFromNow(24 * 200), hoursFromNow(24 * 201)),
    headers: { 'idempotency-key': key },
  });
  expect(first.status).toBe(202);
  const other = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: closure(hoursFromNow(24 * 202), hoursFromNow(24 * 203)),
    headers: { 'idempotency-key': key },
  });
  expect(other.status).toBe(422);
  expect(other.body.code).toBe('IDEMPOTENCY_MISMATCH');
});

it('needs crisis:admin, and answers bad input with a clear 400', async () => {
  const desk = await scopedClient(gw().prefix, 'desk', ['appointments:write', 'appointments:read']);
  const refused = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: closure(hoursFromNow(1), hoursFromNow(2)),
    headers: desk,
  });
  expect(refused.status).toBe(403);
  const bad = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: closure(hoursFromNow(2), hoursFromNow(1), { mode: 'video' }),
  });
  expect(bad.status).toBe(400);
  expect(bad.body.code).toBe('VALIDATION');
  const fields = (bad.body.errors as { field: string }[]).map((e) => e.field).sort();
  expect(fields).toEqual(['mode', 'to']);
});

const MODE_URL = 'https://continuum.example/fhir/StructureDefinition/appointment-mode';

async function runToCompletion(body: Record<string, unknown>): Promise<any> {
  const res = await http('POST', `${gw().url}/v1/crisis/closures`, { body });
  expect(res.status).toBe(202);
  return waitFor(
    async () => {
      const view = (await http('GET', `${gw().url}/v1/crisis/closures/${res.body.id}`)).body;
      return view.status === 'completed' ? view : undefined;
    },
    { timeoutMs: 60_000, what: 'the closure to complete' },
  );
}

it('turns every visit into a video visit at the same time, and tells the patient so', async () => {
  const from = hoursFromNow(1);
  const to = hoursFromNow(49);
  const targets = await visitsInEhr(from, to, 'loc-0001');
  expect(targets.length).toBeGreaterThan(0);
  const done = await runToCompletion(
    closure(from, to, { locations: ['loc-0001'], action: 'convert-to-virtual', mode: 'video' }),
  );
  expect(done).toMatchObject({
    action: 'convert-to-virtual',
    mode: 'video',
    appointments: { total: targets.length, done: targets.length, failed: 0 },
  });
  for (const target of targets) {
    const now = (await http('GET', `${gw().fhirBase}/Appointment/${target.id}`)).body;
    expect(now).toMatchObject({ status: target.status, start: target.start, end: target.end });
    expect((now.extension ?? []).find((e: any) => e.url === MODE_URL)?.valueCode).toBe('video');
  }
  const one = patientOf(targets[0]).replace('Patient/', '');
  const notices = (await http('GET', `${gw().url}/v1/patients/${one}/notices`)).body;
  // The patient may have had another visit closed by an earlier test: this visit's notice is the one.
  const notice = notices.notices.find((n: any) => n.appointmentId === targets[0].id);
  expect(notice).toMatchObject({ kind: 'visit-converted', mode: 'video', state: 'done' });
  expect(notice.text).toMatch(/ is now a video visit\.$/);
});

it('holds every visit for a new time: waitlisted in the EHR, and the patient told they will be called', async () => {
  const from = hoursFromNow(1);
  const to = hoursFromNow(49);
  const targets = await visitsInEhr(from, to, 'loc-0003');
  expect(targets.length).toBeGreaterThan(0);
  const done = await runToCompletion(
    closure(from, to, { locations: ['loc-0003'], action: 'hold-for-reschedule' }),
  );
  expect(done.appointments).toMatchObject({ total: targets.length, done: targets.length, failed: 0 });
  for (const target of targets) {
    expect((await http('GET', `${gw().fhirBase}/Appointment/${target.id}`)).body.status).toBe('waitlist');
  }
  const one = patientOf(targets[0]).replace('Patient/', '');
  const notices = (await http('GET', `${gw().url}/v1/patients/${one}/notices`)).body;
  const notice = notices.notices.find((n: any) => n.appointmentId === targets[0].id);
  expect(notice).toMatchObject({ kind: 'visit-held', state: 'done' });
  expect(notice.text).toMatch(/We will call you to find a new time\.$/);
});

it('waits in `finding` while the EHR is down, then closes the site once it is back', async () => {
  const from = hoursFromNow(1);
  const to = hoursFromNow(49);
  const targets = await visitsInEhr(from, to, 'loc-0004');
  expect(targets.length).toBeGreaterThan(0);
  await setFaults(gw().url, { mode: 'down', kind: 'http503' });
  const res = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: closure(from, to, { locations: ['loc-0004'] }),
  });
  expect(res.status).toBe(202);
  expect(res.body.status).toBe('finding');
  const waiting = await waitFor(
    async () => {
      const view = (await http('GET', `${gw().url}/v1/crisis/closures/${res.body.id}`)).body;
      return view.lastError !== null ? view : undefined;
    },
    { timeoutMs: 30_000, what: 'a failed search to be recorded' },
  );
  expect(waiting).toMatchObject({ status: 'finding', appointments: { total: 0 } });
  expect(waiting.lastError).toMatch(/^EHR_/);
  await setFaults(gw().url, { mode: 'up' });
  const done = await waitFor(
    async () => {
      const view = (await http('GET', `${gw().url}/v1/crisis/closures/${res.body.id}`)).body;
      return view.status === 'completed' ? view : undefined;
    },
    { timeoutMs: 90_000, what: 'the closure to complete after the outage' },
  );
  const patients = new Set(targets.map(patientOf));
  console.log(
    `closure after outage: appointments ${targets.length}, changed ${done.appointments.done}, callbacks ${done.callbacks.done}`,
  );
  expect(done.appointments).toMatchObject({ total: targets.length, done: targets.length, failed: 0 });
  expect(done.callbacks).toMatchObject({ total: patients.size, done: patients.size });
  for (const target of targets) {
    const history = (await http('GET', `${gw().fhirBase}/Appointment/${target.id}/_history`)).body;
    expect(history.entry.filter((e: any) => e.resource.status === 'cancelled')).toHaveLength(1);
  }
}, 150_000);
