/**
 * A tenant configured with locations sees and books only the slots and appointments at them: two
 * call centers sharing one EHR each work their own clinics.
 */
import { http } from '../support/http';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';

const MINE = 'loc-0001';

let api: InProcessApi;
beforeAll(async () => {
  api = await startInProcessApi({
    overrides: { tenants: { default: { connections: ['sandbox'], locations: [MINE] } } },
  });
});
afterAll(async () => {
  await api.stop();
});

interface SlotList {
  slots: { id: string; location?: { id: string } }[];
}

it('lists free slots at the tenant’s locations only, and refuses another location as unknown', async () => {
  const mine = await http<SlotList>('GET', `${api.url}/v1/slots?limit=20`);
  expect(mine.status).toBe(200);
  expect(mine.body.slots.length).toBeGreaterThan(0);
  expect(new Set(mine.body.slots.map((s) => s.location?.id))).toEqual(new Set([MINE]));

  // The EHR has slots elsewhere: the sandbox itself lists them.
  const elsewhere = await http<{ entry?: { resource: { id: string } }[] }>(
    'GET',
    `${api.rig.fhirBase}/Schedule?actor=Location/loc-0002&_count=1`,
  );
  expect(elsewhere.body.entry?.length).toBe(1);

  const other = await http('GET', `${api.url}/v1/slots?location=loc-0002`);
  expect(other.status).toBe(404);
  expect(other.body.code).toBe('NOT_FOUND');
});

it('refuses to book a slot at another location, and queues nothing', async () => {
  const schedule = await http<{ entry?: { resource: { id: string } }[] }>(
    'GET',
    `${api.rig.fhirBase}/Schedule?actor=Location/loc-0002&_count=1`,
  );
  const scheduleId = schedule.body.entry?.[0]?.resource.id ?? '';
  const slots = await http<{ entry?: { resource: { id: string } }[] }>(
    'GET',
    `${api.rig.fhirBase}/Slot?schedule=Schedule/${scheduleId}&status=free&_count=1`,
  );
  const slotId = slots.body.entry?.[0]?.resource.id;
  expect(slotId).toBeDefined();

  const res = await http('POST', `${api.url}/v1/appointments`, {
    body: { patientId: 'pat-0001', slotId, mode: 'in-person' },
  });
  expect(res.status).toBe(404);
  expect(res.body.detail).toBe('no slot with this id');
  expect(await api.rig.deps.store.count('sandbox', 'queued')).toBe(0);
});

it('shows a patient only the appointments at the tenant’s locations', async () => {
  // A patient with a visit coming up at another location, as the EHR has it.
  const now = new Date().toISOString().slice(0, 10);
  const found = await http<{
    entry?: { resource: { participant: { actor?: { reference?: string } }[] } }[];
  }>(
    'GET',
    `${api.rig.fhirBase}/Appointment?location=Location/loc-0002&date=ge${now}&status=booked&_count=1`,
  );
  const patientRef = found.body.entry?.[0]?.resource.participant
    .map((p) => p.actor?.reference)
    .find((r) => r?.startsWith('Patient/'));
  expect(patientRef).toBeDefined();
  const patientId = (patientRef ?? '').replace('Patient/', '');

  const res = await http<{ appointments: { location?: { id: string } }[] }>(
    'GET',
    `${api.url}/v1/patients/${patientId}/appointments`,
  );
  expect(res.status).toBe(200);
  for (const a of res.body.appointments) expect(a.location?.id).toBe(MINE);
  const summary = await http<{ upcomingAppointments: { location?: { id: string } }[] }>(
    'GET',
    `${api.url}/v1/patients/${patientId}/summary`,
  );
  expect(summary.status).toBe(200);
  for (const a of summary.body.upcomingAppointments) expect(a.location?.id).toBe(MINE);
});
