/**
 * A patient's appointments and the screen-pop summary, checked against what the sandbox EHR itself
 * holds, and answered from the continuity cache while the EHR is down.
 */
import { http } from '../support/http';
import { setFaults } from '../support/pipeline';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let gw: TestGateway;

beforeAll(async () => {
  // The EHR's outages here are outright (down), never slowness: a live read on a loaded machine must
  // not be answered from the cache for being slower than the default 250 ms.
  gw = await startTestGateway({
    overrides: { sandbox: { enabled: true }, connections: { sandbox: { staleAfterMs: 3000 } } },
  });
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});
afterAll(async () => {
  await gw.stop();
});

interface FhirAppointment {
  id: string;
  status: string;
  start: string;
  participant: { actor?: { reference?: string } }[];
}

/** Every appointment of the patient, straight from the EHR. */
async function ehrAppointments(patientId: string): Promise<FhirAppointment[]> {
  const bundle = await http('GET', `${gw.fhirBase}/Appointment?patient=Patient/${patientId}&_count=200`);
  return ((bundle.body.entry ?? []) as { resource: FhirAppointment }[]).map((e) => e.resource);
}

/** A seeded patient with at least two booked appointments ahead and one cancelled. */
async function busyPatient(): Promise<{ id: string; appointments: FhirAppointment[] }> {
  const bundle = await http('GET', `${gw.fhirBase}/Appointment?status=cancelled&_count=50`);
  for (const entry of bundle.body.entry as { resource: FhirAppointment }[]) {
    const ref = entry.resource.participant.find((p) => p.actor?.reference?.startsWith('Patient/'));
    const id = ref?.actor?.reference?.split('/')[1];
    if (id === undefined) continue;
    const all = await ehrAppointments(id);
    if (all.filter((a) => a.status === 'booked' && Date.parse(a.start) > Date.now()).length >= 2) {
      return { id, appointments: all };
    }
  }
  throw new Error('the seed has no patient with a cancelled and two booked appointments');
}

it('lists the appointments the EHR holds for the patient in the range, earliest first, by status', async () => {
  const { id, appointments } = await busyPatient();
  const from = new Date(Date.now() - 86_400_000).toISOString();
  const to = new Date(Date.now() + 60 * 86_400_000).toISOString();
  const inRange = appointments.filter(
    (a) => Date.parse(a.start) >= Date.parse(from) && Date.parse(a.start) < Date.parse(to),
  );

  const all = await http('GET', `${gw.url}/v1/patients/${id}/appointments?from=${from}&to=${to}`);
  expect(all.status).toBe(200);
  expect(all.body.freshness.source).toBe('ehr');
  const ids = all.body.appointments.map((a: { id: string }) => a.id);
  expect([...ids].sort()).toEqual(inRange.map((a) => a.id).sort());
  const starts = all.body.appointments.map((a: { start: string }) => Date.parse(a.start));
  expect(starts).toEqual([...starts].sort((a, b) => a - b));
  expect(all.body.appointments[0]).toMatchObject({
    patientId: id,
    mode: 'in-person',
    practitioner: { id: expect.any(String), name: expect.any(String) },
    location: { id: expect.any(String) },
  });

  const booked = await http(
    'GET',
    `${gw.url}/v1/patients/${id}/appointments?from=${from}&to=${to}&status=booked`,
  );
  expect(booked.body.appointments.map((a: { status: string }) => a.status)).toEqual(
    inRange.filter((a) => a.status === 'booked').map(() => 'booked'),
  );
  const cancelled = await http(
    'GET',
    `${gw.url}/v1/patients/${id}/appointments?status=cancelled&from=2000-01-01&to=2000-12-31`,
  );
  expect(cancelled.body.appointments).toEqual([]);
});

it('refuses a range it cannot answer, naming the field', async () => {
  const bad = await http('GET', `${gw.url}/v1/patients/pat-0001/appointments?from=tomorrow`);
  expect(bad.status).toBe(400);
  expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'from' })]);
  const backwards = await http(
    'GET',
    `${gw.url}/v1/patients/pat-0001/appointments?from=2026-12-10&to=2026-12-01`,
  );
  expect(backwards.status).toBe(400);
  const huge = await http('GET', `${gw.url}/v1/patients/pat-0001/appointments?from=2026-01-01&to=2030-01-01`);
  expect(huge.status).toBe(400);
});

it('pops the screen in one call: demographics and the next visits that are still on', async () => {
  const { id, appointments } = await busyPatient();
  const res = await http('GET', `${gw.url}/v1/patients/${id}/summary?limit=2`);
  expect(res.status).toBe(200);
  expect(res.headers.get('etag')).toMatch(/^W\/"/);
  expect(res.body).toMatchObject({
    id,
    appointmentsAvailable: true,
    freshness: { source: 'ehr' },
    pending: [],
  });
  const expected = appointments
    .filter(
      (a) =>
        ['booked', 'pending', 'proposed', 'arrived'].includes(a.status) && Date.parse(a.start) >= Date.now(),
    )
    .sort((a, b) => Date.parse(a.start) - Date.parse(b.start))
    .slice(0, 2)
    .map((a) => a.id);
  expect(res.body.upcomingAppointments.map((a: { id: string }) => a.id)).toEqual(expected);
});

it('answers the summary from the cache while the EHR is down, and says what it cannot know', async () => {
  const { id } = await busyPatient();
  const live = await http('GET', `${gw.url}/v1/patients/${id}/summary`);
  expect(live.body.freshness.source).toBe('ehr');
  // Read live too, but only the patient: its appointments were never asked for.
  const other = 'pat-0200';
  expect((await http('GET', `${gw.url}/v1/patients/${other}`)).status).toBe(200);

  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
  const cached = await http('GET', `${gw.url}/v1/patients/${id}/summary`);
  expect(cached.status).toBe(200);
  expect(cached.body.freshness.source).toBe('cache');
  expect(cached.body.upcomingAppointments).toEqual(live.body.upcomingAppointments);
  expect(cached.body.name).toEqual(live.body.name);

  const partly = await http('GET', `${gw.url}/v1/patients/${other}/summary`);
  expect(partly.status).toBe(200);
  expect(partly.body).toMatchObject({ id: other, appointmentsAvailable: false, upcomingAppointments: [] });
  expect(partly.body.freshness.source).toBe('cache');
});
