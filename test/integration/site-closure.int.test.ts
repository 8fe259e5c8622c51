/**
 * A storm closes two clinics for three days: the crisis lead closes them in one request and every
 * booked visit there becomes a video visit, each exactly once, with one callback per patient, and
 * nothing else in the EHR moves. Judged from the EHR's own records (every Appointment and Task
 * before and after, each visit's `_history`), the events a desk's webhook hears, and the progress
 * the lead polls; with the EHR up, with the EHR going down halfway, as a dry run, and stopped midway.
 * Then the IVR asks "is my appointment still on?" while the EHR is down.
 */
import { http } from '../support/http';
import { setFaults } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';
import {
  clinicDate,
  closedDays,
  closureLine,
  ehrSnapshot,
  failedWrites,
  finished,
  heardEvents,
  judgeClosure,
  locationOf,
  patientOf,
  practitionerOf,
  startEventSink,
  targetedAppointments,
  waitForClosure,
  waitForIdlePipeline,
  type ClosureAction,
  type ClosureScope,
  type EhrSnapshot,
} from '../support/site-closure';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180000);

// Typed as any action: switching the case to another action is this one line.
const ACTION = 'convert-to-virtual' as ClosureAction;
/** What the IVR is told about a visit the closure changed, by action. */
const NOTICE = {
  'convert-to-virtual': { kind: 'visit-converted', says: /video/i },
  cancel: { kind: 'visit-cancelled', says: /cancel/i },
  'hold-for-reschedule': { kind: 'visit-held', says: /resched|new time|call/i },
}[ACTION];
/** How long a desk may wait for a closure's events after the EHR has them all (printed, not judged). */
const EVENTS_DEADLINE_MS = 90000;
const SECRET = `whsec_${Buffer.from('site-closure-desk-secret').toString('base64')}`;

let gw: TestGateway;
let sink: Awaited<ReturnType<typeof startEventSink>>;
/** The crisis lead: `crisis:admin` only. */
let lead: Record<string, string>;
/** The IVR flow: reads appointments and notices, nothing else. */
let ivr: Record<string, string>;

/** Two clinics closed Monday to Wednesday: the first case's dry run and real run. */
let scopeA: ClosureScope;
let dryRunCount: number | undefined;
let closureA: { id: string; targets: any[] } | undefined;

beforeAll(async () => {
  sink = await startEventSink();
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: {
        sandbox: { maxWritesPerSecond: 0, breaker: { failureThreshold: 3, probeIntervalMs: 400 } },
      },
      events: { subscribers: [{ kind: 'webhook', name: 'desk', url: sink.url, secret: SECRET }] },
    },
  });
  lead = await scopedClient(gw.prefix, 'crisis-lead', ['crisis:admin']);
  ivr = await scopedClient(gw.prefix, 'ivr', ['appointments:read']);
  scopeA = { locations: ['loc-0001', 'loc-0002'], ...closedDays(0) };
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});
afterAll(async () => {
  await gw.stop();
  await sink.close();
});

const closureBody = (scope: ClosureScope, extra: Record<string, unknown> = {}) => ({
  locations: scope.locations,
  from: scope.from,
  to: scope.to,
  action: ACTION,
  ...(ACTION === 'convert-to-virtual' ? { mode: 'video' } : {}),
  reason: 'Storm: the clinic is closed',
  callback: { priority: 'urgent' },
  ...extra,
});

async function submit(body: unknown, headers: Record<string, string> = {}) {
  return http('POST', `${gw.url}/v1/crisis/closures`, { body, headers: { ...lead, ...headers } });
}

/** Versions or Tasks that differ between two snapshots (what a second submission must not add). */
function differences(a: EhrSnapshot, b: EhrSnapshot): string[] {
  const out: string[] = [];
  for (const [id, appointment] of b.appointments) {
    if (a.appointments.get(id)?.meta.versionId !== appointment.meta.versionId) out.push(`Appointment/${id}`);
  }
  for (const id of b.tasks.keys()) if (!a.tasks.has(id)) out.push(`Task/${id}`);
  return out;
}

/** Names, phones and birth dates of the closure's patients must not reach the gateway's logs. */
async function phiInLogs(patientIds: readonly string[]): Promise<string[]> {
  const logs = gw.logs.text();
  const found: string[] = [];
  for (const id of patientIds) {
    const patient = (await http('GET', `${gw.fhirBase}/Patient/${id}`)).body;
    const name = patient.name?.[0];
    const fullName = `${String(name?.given?.[0] ?? '')} ${String(name?.family ?? '')}`;
    const values = [fullName, String(patient.birthDate ?? '')];
    for (const t of (patient.telecom ?? []) as { value?: string }[]) if (t.value) values.push(t.value);
    for (const value of values)
      if (value.trim().length > 4 && logs.includes(value)) found.push(`${id}: ${value}`);
  }
  return found;
}

it('dry run: counts what a closure would change, and changes nothing', async () => {
  const before = await ehrSnapshot(gw.fhirBase);
  const targets = targetedAppointments(before, scopeA);
  // The seeded calendar gives two clinics some 40 booked visits over three weekdays.
  expect(targets.length).toBeGreaterThanOrEqual(24);
  const patients = [...new Set(targets.map((a) => patientOf(a)!))].sort();

  const res = await submit(closureBody(scopeA, { dryRun: true }));
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ dryRun: true, appointments: targets.length, patients: patients.length });
  expect([...(res.body.appointmentRefs as string[])].sort()).toEqual(
    targets.map((a) => `Appointment/${a.id as string}`).sort(),
  );
  expect([...(res.body.patientRefs as string[])].sort()).toEqual(patients.map((p) => `Patient/${p}`));

  const tally = (key: (a: any) => string) => {
    const counts = new Map<string, number>();
    for (const a of targets) counts.set(key(a), (counts.get(key(a)) ?? 0) + 1);
    return Object.fromEntries([...counts].sort());
  };
  const asMap = (rows: { count: number }[], field: string, strip: string) =>
    Object.fromEntries(
      rows.map((r) => [String((r as any)[field]).replace(strip, ''), r.count] as const).sort(),
    );
  expect(asMap(res.body.byDay, 'date', '')).toEqual(tally((a) => clinicDate(a.start as string)));
  expect(asMap(res.body.byLocation, 'location', 'Location/')).toEqual(tally((a) => locationOf(a)!));
  expect(asMap(res.body.byPractitioner, 'practitioner', 'Practitioner/')).toEqual(
    tally((a) => practitionerOf(a)!),
  );

  const after = await ehrSnapshot(gw.fhirBase);
  const verdict = await judgeClosure({
    fhirBase: gw.fhirBase,
    before,
    after,
    scope: scopeA,
    action: ACTION,
  });
  expect(verdict).toMatchObject({ changed: 0, duplicates: 0, callbacks: 0, outsideScope: 0 });
  expect(verdict.untouched).toHaveLength(targets.length);
  const list = await http('GET', `${gw.url}/v1/crisis/closures`, { headers: lead });
  expect(list.status).toBe(200);
  expect(JSON.stringify(list.body)).not.toContain('clo_');
  dryRunCount = targets.length;
  console.log(
    closureLine('dry run', verdict, `, patients ${patients.length}, days ${res.body.byDay.length}`),
  );
});

it('EHR up: every visit converted once, one callback per patient, events, 100%, and a second submission changes nothing', async () => {
  const before = await ehrSnapshot(gw.fhirBase);
  const targets = targetedAppointments(before, scopeA);
  const started = Date.now();
  // A patient with visits at clinics of two closures is called back once per closure: count this one's.
  const heardBefore = sink.received.length;
  const submittedAt = new Date().toISOString();
  const res = await submit(closureBody(scopeA), { 'idempotency-key': 'storm-closure-a' });
  expect(res.status).toBe(202);
  expect(res.body.id).toMatch(/^clo_/);
  expect(res.headers.get('location')).toBe(`/v1/crisis/closures/${res.body.id as string}`);
  const id = res.body.id as string;

  const seen: any[] = [];
  const progress = await waitForClosure(gw.url, id, lead, finished, { seen });
  const seconds = (Date.now() - started) / 1000;
  const patients = new Set(targets.map((a) => patientOf(a)!)).size;
  expect(progress).toMatchObject({
    id,
    status: 'completed',
    action: ACTION,
    percent: 100,
    appointments: { total: targets.length, done: targets.length, failed: 0, remaining: 0 },
    callbacks: { total: patients, done: patients, failed: 0, remaining: 0 },
  });
  expect(progress.appointments.total).toBe(dryRunCount ?? targets.length);
  const percents = seen.map((p) => Number(p.percent));
  expect(percents).toEqual([...percents].sort((x, y) => x - y));

  const after = await ehrSnapshot(gw.fhirBase);
  const verdict = await judgeClosure({
    fhirBase: gw.fhirBase,
    before,
    after,
    scope: scopeA,
    action: ACTION,
    priority: 'urgent',
  });
  expect(verdict.problems).toEqual([]);
  expect(verdict).toMatchObject({
    appointments: targets.length,
    changed: targets.length,
    duplicates: 0,
    callbacks: patients,
    outsideScope: 0,
  });

  // Events go to a desk one at a time, in order: they may trail the EHR's changes by a while.
  const completedAt = Date.now();
  const events = await heardEvents(sink, heardBefore, targets, ACTION, EVENTS_DEADLINE_MS);
  const eventSeconds = (Date.now() - completedAt) / 1000;
  const missedOrTwice = [...events.perAppointment, ...events.perPatient].filter(([, n]) => n !== 1);
  expect({ missedOrTwice, wrong: events.extra }).toEqual({ missedOrTwice: [], wrong: [] });

  // Every write the closure made went through the pipeline at urgent priority (the operator's view).
  const writes = (
    (
      await http(
        'GET',
        `${gw.url}/v1/operations?status=succeeded&since=${encodeURIComponent(submittedAt)}&limit=500`,
      )
    ).body.operations as any[]
  ).filter((op) => op.kind === 'appointment.convert' || op.kind === 'callback.request');
  expect(writes).toHaveLength(targets.length + patients);
  expect(
    writes.filter((op) => op.urgency !== 'urgent').map((op) => `${String(op.kind)} ${String(op.urgency)}`),
  ).toEqual([]);

  // The lead submits again: by the same key, and without one (same connection, clinics, days, action).
  const again = await submit(closureBody(scopeA), { 'idempotency-key': 'storm-closure-a' });
  const same = await submit(closureBody(scopeA));
  expect([again.status, again.body.id, same.status, same.body.id]).toEqual([200, id, 200, id]);
  await waitForIdlePipeline(gw.url);
  const afterAgain = await ehrSnapshot(gw.fhirBase);
  expect(differences(after, afterAgain)).toEqual([]);
  const list = await http('GET', `${gw.url}/v1/crisis/closures`, { headers: lead });
  expect(JSON.stringify(list.body).split(id).length - 1).toBeGreaterThanOrEqual(1);

  expect(await phiInLogs([...new Set(targets.map((a) => patientOf(a)!))])).toEqual([]);
  closureA = { id, targets };
  console.log(
    closureLine(
      'EHR up',
      verdict,
      `, ${seconds.toFixed(1)} s, ${progress.ratePerMinute as number}/min, events ${targets.length + patients} heard once each, the last ${eventSeconds.toFixed(1)} s after completion`,
    ),
  );
});

it('EHR down halfway: the closure pauses and finishes after recovery, each visit still changed once', async () => {
  const scope: ClosureScope = { locations: ['loc-0003', 'loc-0004'], ...closedDays(0) };
  const before = await ehrSnapshot(gw.fhirBase);
  const targets = targetedAppointments(before, scope);
  expect(targets.length).toBeGreaterThanOrEqual(24);
  const patients = new Set(targets.map((a) => patientOf(a)!)).size;
  // An EHR at a real one's pace, so the closure is still running when it goes down.
  await setFaults(gw.url, { mode: 'slow', latencyMs: 150 });
  const submittedAt = new Date().toISOString();
  const heardBefore = sink.received.length;
  const res = await submit(closureBody(scope));
  expect(res.status).toBe(202);
  const id = res.body.id as string;

  const atOutage = await waitForClosure(gw.url, id, lead, (p) => finished(p) || p.appointments?.done > 0, {
    what: 'some visits changed',
  });
  await setFaults(gw.url, { mode: 'down' });
  const downAt = Date.now();
  // The lead, unsure it went through, submits the closure again during the outage: the same closure.
  const again = await submit(closureBody(scope));
  expect([again.status, again.body.id]).toEqual([200, id]);
  await waitFor(
    async () => {
      const status = (await http('GET', `${gw.url}/v1/status`)).body.connections.sandbox;
      // Down for a few seconds of the breaker's own account: long enough for lanes to pause and probes to fail.
      const openFor = Date.now() - Date.parse(String(status.breaker.openedAt));
      return status.breaker.state === 'open' && openFor >= 3000 ? true : undefined;
    },
    { timeoutMs: 30000, what: 'the breaker to be open for 3 s' },
  );
  const duringOutage = (await http('GET', `${gw.url}/v1/crisis/closures/${id}`, { headers: lead })).body;
  await setFaults(gw.url, { mode: 'up' });
  const downSeconds = (Date.now() - downAt) / 1000;

  const progress = await waitForClosure(gw.url, id, lead, finished, { timeoutMs: 120000 });
  const failures = await failedWrites(gw.url, submittedAt);
  const after = await ehrSnapshot(gw.fhirBase);
  const verdict = await judgeClosure({ fhirBase: gw.fhirBase, before, after, scope, action: ACTION });
  // The figures first: on a failure they say how far it got.
  console.log(
    closureLine(
      'EHR down halfway',
      verdict,
      `, down at ${atOutage.appointments.done as number}/${targets.length} done for ${downSeconds.toFixed(1)} s, ${duringOutage.appointments.done as number} done while down, callbacks ${JSON.stringify(progress.callbacks)}${failures.length > 0 ? `; failed writes ${failures.join('; ')}` : ''}`,
    ),
  );
  expect(atOutage.status).not.toBe('completed');
  expect(duringOutage.status).not.toBe('completed');
  expect(progress).toMatchObject({
    status: 'completed',
    percent: 100,
    appointments: { total: targets.length, done: targets.length, failed: 0, remaining: 0 },
    callbacks: { total: patients, done: patients, failed: 0, remaining: 0 },
  });
  expect(verdict.problems).toEqual([]);
  expect(verdict).toMatchObject({
    appointments: targets.length,
    changed: targets.length,
    duplicates: 0,
    callbacks: patients,
    outsideScope: 0,
  });
  const events = await heardEvents(sink, heardBefore, targets, ACTION, EVENTS_DEADLINE_MS);
  const missedOrTwice = [...events.perAppointment, ...events.perPatient].filter(([, n]) => n !== 1);
  expect({ missedOrTwice, wrong: events.extra }).toEqual({ missedOrTwice: [], wrong: [] });
});

it('notices with the EHR down: the IVR hears from the cache that the visit is now a video visit', async () => {
  if (closureA === undefined) throw new Error('the EHR-up closure did not complete');
  const { id, targets } = closureA;
  const target = targets[0];
  const patientId = patientOf(target)!;
  const visits = targets.filter((a) => patientOf(a) === patientId);
  await setFaults(gw.url, { mode: 'down' });

  const res = await http('GET', `${gw.url}/v1/patients/${patientId}/notices`, {
    headers: ivr,
    timeoutMs: 10000,
  });
  expect(res.status).toBe(200);
  expect(res.body.patientId).toBe(patientId);
  expect(res.body.freshness).toMatchObject({ source: 'cache' });
  const notices = res.body.notices as any[];
  for (const visit of visits) {
    const notice = notices.find((n) => n.appointmentId === visit.id && n.kind === NOTICE.kind);
    expect(notice).toMatchObject({ state: 'done', closureId: id });
    if (ACTION === 'convert-to-virtual') expect(notice.mode).toBe('video');
    expect(Date.parse(notice.start as string)).toBe(Date.parse(visit.start as string));
    // "Your Tuesday 10:00 visit is now a video visit": the clinic's weekday and wall-clock time.
    const local = new Date(visit.start as string);
    const weekday = local.toLocaleDateString('en-US', { weekday: 'long', timeZone: 'America/New_York' });
    const time = String(visit.start).slice(11, 16);
    expect(notice.text).toContain(weekday);
    expect(notice.text).toContain(time);
    expect(notice.text).toMatch(NOTICE.says);
  }
  // One callback per patient per closure: another closure in this file may reach the same patient.
  const callbacks = notices.filter((n) => n.kind === 'callback-scheduled');
  expect(callbacks.filter((n) => n.closureId === id)).toHaveLength(1);
  expect(callbacks.every((n) => typeof n.closureId === 'string' && n.closureId !== '')).toBe(true);

  const flat = await http('GET', `${gw.url}/v1/patients/${patientId}/notices?shape=flat`, {
    headers: ivr,
    timeoutMs: 10000,
  });
  expect(flat.status).toBe(200);
  expect(Object.values(flat.body as Record<string, unknown>).every((v) => typeof v === 'string')).toBe(true);
  expect(Buffer.byteLength(JSON.stringify(flat.body))).toBeLessThan(32 * 1024);
  expect(flat.body.freshness_source).toBe('cache');
  const firstText = notices.find((n) => n.kind === NOTICE.kind)?.text as string;
  expect(Object.values(flat.body as Record<string, string>)).toContain(firstText);
  console.log(
    `closure notices (EHR down): patient with ${visits.length} converted visit(s), ${notices.length} notices from ${res.body.freshness.source as string}, text "${firstText}"`,
  );
});

it('stop switch: a closure stopped midway changes no more visits; what it applied stays applied once, and those patients are still called back', async () => {
  // Paced as an EHR with little capacity is: the closure's writes trickle out, so the stop lands
  // with most of them not yet sent, however fast this machine is.
  const paced = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: { sandbox: { maxWritesPerSecond: 4 } },
    },
  });
  try {
    const pacedLead = await scopedClient(paced.prefix, 'crisis-lead', ['crisis:admin']);
    const scope: ClosureScope = { locations: ['loc-0001', 'loc-0002'], ...closedDays(1) };
    const before = await ehrSnapshot(paced.fhirBase);
    const targets = targetedAppointments(before, scope);
    expect(targets.length).toBeGreaterThanOrEqual(12);
    await setFaults(paced.url, { mode: 'slow', latencyMs: 250 });
    const res = await http('POST', `${paced.url}/v1/crisis/closures`, {
      body: closureBody(scope),
      headers: pacedLead,
    });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    const atStop = await waitForClosure(
      paced.url,
      id,
      pacedLead,
      (p) => finished(p) || p.appointments?.done >= 2,
      {
        what: 'a few visits changed',
      },
    );
    const stop = await http('POST', `${paced.url}/v1/crisis/closures/${id}/stop`, { headers: pacedLead });
    expect(stop.status).toBeLessThan(300);
    const inFlight = (await http('GET', `${paced.url}/v1/status`)).body.connections.sandbox.queue
      .sending as number;
    await setFaults(paced.url, { mode: 'up' });
    // Stopped, and owing nothing more: the patients whose visits were changed are still called back.
    const progress = await waitForClosure(
      paced.url,
      id,
      pacedLead,
      (p) => p.status !== 'running' && p.status !== 'finding' && p.callbacks?.remaining === 0,
      { what: 'the stopped closure to owe no callback' },
    );
    await waitForIdlePipeline(paced.url);
    expect(progress.status).toBe('stopped');
    expect(progress.stoppedAt).toEqual(expect.any(String));

    const after = await ehrSnapshot(paced.fhirBase);
    const verdict = await judgeClosure({ fhirBase: paced.fhirBase, before, after, scope, action: ACTION });
    expect(verdict.problems).toEqual([]);
    expect({ duplicates: verdict.duplicates, outsideScope: verdict.outsideScope }).toEqual({
      duplicates: 0,
      outsideScope: 0,
    });
    expect(verdict.changed + verdict.untouched.length).toBe(targets.length);
    expect(verdict.untouched.length).toBeGreaterThan(0);
    expect(progress.appointments.done).toBe(verdict.changed);
    // One callback for each patient with a changed visit, and none for a patient the stop left untouched.
    const changedPatients = new Set(
      targets.filter((a) => !verdict.untouched.includes(a.id as string)).map((a) => patientOf(a)!),
    );
    const calledBack = new Set(
      [...after.tasks]
        .filter(([taskId]) => !before.tasks.has(taskId))
        .map(([, task]) => String(task.for?.reference).replace('Patient/', '')),
    );
    expect([...calledBack].sort()).toEqual([...changedPatients].sort());
    expect(progress.callbacks).toMatchObject({ done: changedPatients.size, failed: 0, remaining: 0 });

    // Later, still nothing more: the queue stays empty and the EHR as it was.
    await waitForIdlePipeline(paced.url);
    const later = await ehrSnapshot(paced.fhirBase);
    expect(differences(after, later)).toEqual([]);
    const stillStopped = await waitForClosure(paced.url, id, pacedLead, finished);
    expect(stillStopped.status).toBe('stopped');
    console.log(
      closureLine(
        'stopped midway',
        verdict,
        `, stopped at ${atStop.appointments.done as number}/${targets.length} done (${String(stop.body.appointments?.done)} by the stop's answer, ${inFlight} writes in flight), left untouched ${verdict.untouched.length}, callbacks ${JSON.stringify(progress.callbacks)}`,
      ),
    );
  } finally {
    await setFaults(paced.url, { mode: 'up' });
    await paced.stop();
  }
});

it('patient reads failing while the breaker stays closed: the callbacks wait for the numbers, none is given up', async () => {
  const scope: ClosureScope = { locations: ['loc-0003', 'loc-0004'], ...closedDays(1) };
  const before = await ehrSnapshot(gw.fhirBase);
  const targets = targetedAppointments(before, scope);
  const patients = new Set(targets.map((a) => patientOf(a)!)).size;
  // The EHR answers every appointment write but not the patient search the callbacks' numbers come from:
  // writes succeed, so the breaker stays closed, as in the first moments of an outage.
  await setFaults(gw.url, { mode: 'down', kind: 'http503', paths: ['Patient'] });
  const submittedAt = new Date().toISOString();
  const res = await submit(closureBody(scope));
  expect(res.status).toBe(202);
  const id = res.body.id as string;
  const whileFailing = await waitForClosure(
    gw.url,
    id,
    lead,
    (p) => finished(p) || p.appointments?.done === targets.length,
    { what: 'every visit changed' },
  );
  const breaker = (await http('GET', `${gw.url}/v1/status`)).body.connections.sandbox.breaker.state as string;
  await setFaults(gw.url, { mode: 'up' });
  const progress = await waitForClosure(gw.url, id, lead, finished, { timeoutMs: 60000 });
  const failures = await failedWrites(gw.url, submittedAt);
  const after = await ehrSnapshot(gw.fhirBase);
  const verdict = await judgeClosure({ fhirBase: gw.fhirBase, before, after, scope, action: ACTION });
  console.log(
    closureLine(
      'patient reads failing',
      verdict,
      `, breaker ${breaker} while they failed, callbacks then ${JSON.stringify(whileFailing.callbacks)}, finally ${JSON.stringify(progress.callbacks)}${failures.length > 0 ? `; failed writes ${failures.join('; ')}` : ''}`,
    ),
  );
  expect(progress).toMatchObject({
    status: 'completed',
    appointments: { total: targets.length, done: targets.length, failed: 0 },
    callbacks: { total: patients, done: patients, failed: 0, remaining: 0 },
  });
  expect(verdict).toMatchObject({
    changed: targets.length,
    duplicates: 0,
    callbacks: patients,
    outsideScope: 0,
  });
});
