/**
 * The stop switch and tenant confinement of site closures. The EHR takes one write a second here,
 * so a closure is still mid-way when it is stopped: what was sent stays applied once, what waited
 * is cancelled and never reaches the EHR. A tenant confined to a clinic closes only that clinic,
 * and its notices show only its own closures.
 */
import { http } from '../support/http';
import { setFaults } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: { sandbox: { maxWritesPerSecond: 1 } },
      tenants: {
        default: { connections: ['sandbox'] },
        clinic: { connections: ['sandbox'], locations: ['loc-0001'] },
      },
    },
  });
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});
afterAll(async () => {
  await gw.stop();
});

// One anchor for the whole file: a closure's id is derived from its window, so a window that moved
// because the clock crossed an hour between two submissions would be another closure.
const ANCHOR = Date.now();
const hoursFromNow = (hours: number): string => {
  const at = new Date(ANCHOR + hours * 3_600_000);
  at.setUTCMinutes(0, 0, 0);
  return at.toISOString();
};

const body = (locations: string[], extra: Record<string, unknown> = {}) => ({
  locations,
  from: hoursFromNow(1),
  to: hoursFromNow(49),
  action: 'cancel',
  reason: 'weather',
  callback: { priority: 'asap' },
  ...extra,
});

it('stops mid-way: nothing more is queued, waiting writes are cancelled, sent ones stay applied once', async () => {
  const plan = await http('POST', `${gw.url}/v1/crisis/closures`, {
    body: body(['loc-0004'], { dryRun: true }),
  });
  const targets = (plan.body.appointmentRefs as string[]).map((ref) => ref.replace('Appointment/', ''));
  const res = await http('POST', `${gw.url}/v1/crisis/closures`, { body: body(['loc-0004']) });
  expect(res.status).toBe(202);
  const id = res.body.id as string;
  await waitFor(
    async () => {
      const view = (await http('GET', `${gw.url}/v1/crisis/closures/${id}`)).body;
      return view.appointments.done >= 1 ? view : undefined;
    },
    { timeoutMs: 30_000, what: 'a first visit changed' },
  );
  const stopped = await http('POST', `${gw.url}/v1/crisis/closures/${id}/stop`, { body: {} });
  expect(stopped.status).toBe(200);
  expect(stopped.body.status).toBe('stopped');
  expect(stopped.body.stoppedAt).not.toBeNull();

  // Once the write that was being sent finished, nothing of the closure waits any more.
  const final = await waitFor(
    async () => {
      const view = (await http('GET', `${gw.url}/v1/crisis/closures/${id}`)).body;
      return view.appointments.remaining === 0 && view.callbacks.remaining === 0 ? view : undefined;
    },
    { timeoutMs: 30_000, what: 'the stopped closure to settle' },
  );
  console.log(
    `closure stop: appointments ${final.appointments.total}, changed ${final.appointments.done}, ` +
      `cancelled ${final.appointments.cancelled}, callbacks ${final.callbacks.done} (${final.callbacks.cancelled} not owed)`,
  );
  expect(final.status).toBe('stopped');
  expect(final.appointments.cancelled).toBeGreaterThan(0);
  expect(final.appointments.failed).toBe(0);
  const cancelledOps = (await http('GET', `${gw.url}/v1/operations?status=cancelled&limit=200`)).body
    .operations as { operationId: string; resourceRef: string | null }[];
  // Cancelled writes are the ones it had queued; the rest were never queued.
  expect(cancelledOps.length).toBeLessThanOrEqual(final.appointments.cancelled + final.callbacks.cancelled);
  expect(cancelledOps.length).toBeGreaterThan(0);

  // Submitting it again starts nothing: it stays stopped, and nothing is queued.
  const again = await http('POST', `${gw.url}/v1/crisis/closures`, { body: body(['loc-0004']) });
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ id, status: 'stopped' });
  expect((await http('GET', `${gw.url}/v1/operations?status=queued`)).body.count).toBe(0);
  expect((await http('GET', `${gw.url}/v1/operations?status=sending`)).body.count).toBe(0);

  // In the EHR: the visits changed are cancelled once; the rest are still booked.
  const appointments = await Promise.all(
    targets.map(async (id) => (await http('GET', `${gw.fhirBase}/Appointment/${id}`)).body),
  );
  const cancelled = appointments.filter((a: any) => a.status === 'cancelled');
  expect(cancelled.length).toBe(final.appointments.done);
  expect(appointments.filter((a: any) => a.status === 'booked').length).toBe(final.appointments.cancelled);
  for (const appointment of cancelled) {
    const history = (await http('GET', `${gw.fhirBase}/Appointment/${appointment.id}/_history`)).body;
    expect(history.entry.filter((e: any) => e.resource.status === 'cancelled')).toHaveLength(1);
  }
  // Patients whose visit was changed before the stop are still called back, once each; the others are not.
  const changedPatients = new Set(
    cancelled.map(
      (a: any) => a.participant.find((p: any) => p.actor?.reference?.startsWith('Patient/')).actor.reference,
    ),
  );
  expect(final.callbacks.done).toBe(changedPatients.size);
  for (const patient of changedPatients) {
    const tasks = (await http('GET', `${gw.fhirBase}/Task?patient=${String(patient)}&_count=50`)).body;
    expect((tasks.entry ?? []).length).toBe(1);
  }
}, 90_000);

it('lets a tenant confined to a clinic close only that clinic, and shows it only its own notices', async () => {
  const lead = await scopedClient(gw.prefix, 'clinic-lead', ['crisis:admin'], 'clinic');
  const desk = await scopedClient(gw.prefix, 'clinic-desk', ['appointments:read'], 'clinic');
  const foreign = await http('POST', `${gw.url}/v1/crisis/closures`, {
    body: body(['loc-0001', 'loc-0002'], { dryRun: true }),
    headers: lead,
  });
  expect(foreign.status).toBe(403);
  expect(foreign.body.code).toBe('FORBIDDEN');
  expect(foreign.body.detail).toContain('loc-0002');

  const own = await http('POST', `${gw.url}/v1/crisis/closures`, {
    body: body(['loc-0001'], { dryRun: true }),
    headers: lead,
  });
  expect(own.status).toBe(200);
  expect(own.body.byLocation.map((l: any) => l.location)).toEqual(['loc-0001']);

  // The default tenant's closure is not the clinic's: neither listed nor readable there.
  const list = await http('GET', `${gw.url}/v1/crisis/closures`, { headers: lead });
  expect(list.body.count).toBe(0);
  const defaults = await http('GET', `${gw.url}/v1/crisis/closures`);
  expect(defaults.body.count).toBeGreaterThan(0);
  const theirs = await http('GET', `${gw.url}/v1/crisis/closures/${defaults.body.closures[0].id}`, {
    headers: lead,
  });
  expect(theirs.status).toBe(404);
  const patient = /Patient\/(.+)$/.exec(own.body.patientRefs[0])?.[1] ?? 'pat-0001';
  const notices = await http('GET', `${gw.url}/v1/patients/${patient}/notices`, { headers: desk });
  expect(notices.status).toBe(200);
  expect(notices.body.notices).toEqual([]);
});

it('offers no in-person slot at a closed site and refuses to book one, while video is still taken', async () => {
  const from = hoursFromNow(24 * 3);
  const to = hoursFromNow(24 * 10);
  const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&location=loc-0003&limit=50`;
  const before = (await http('GET', `${gw.url}/v1/slots?${q}&mode=in-person`)).body.slots as any[];
  expect(before.length).toBeGreaterThan(0);
  const res = await http('POST', `${gw.url}/v1/crisis/closures`, {
    body: { ...body(['loc-0003']), from, to },
  });
  expect(res.status).toBe(202);

  const inPerson = await http('GET', `${gw.url}/v1/slots?${q}&mode=in-person`);
  expect(inPerson.status).toBe(200);
  expect(inPerson.body.slots).toEqual([]);
  const any = (await http('GET', `${gw.url}/v1/slots?${q}`)).body.slots as any[];
  expect(any.every((s) => !s.modes.includes('in-person'))).toBe(true);

  const slot = before[0];
  const refused = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId: 'pat-0050', slotId: slot.id, mode: 'in-person' },
  });
  expect(refused.status).toBe(409);
  expect(refused.body).toMatchObject({ code: 'LOCATION_CLOSED', closureId: res.body.id });
  if ((slot.modes as string[]).includes('video')) {
    const video = await http('POST', `${gw.url}/v1/appointments`, {
      body: { patientId: 'pat-0050', slotId: slot.id, mode: 'video' },
    });
    expect(video.status).toBe(202);
  }

  // Stopped, the closure no longer closes the site.
  await http('POST', `${gw.url}/v1/crisis/closures/${res.body.id}/stop`, { body: {} });
  const reopened = (await http('GET', `${gw.url}/v1/slots?${q}&mode=in-person`)).body.slots as any[];
  expect(reopened.length).toBeGreaterThan(0);
}, 90_000);
