/**
 * Free slots and bookings against the sandbox EHR: what is offered is free in the EHR; a booking
 * lands as an Appointment on its slot, exactly once, and the slot turns busy; racing callers never
 * double-book; a booking taken during an outage shows pending and lands once the EHR is back.
 */
import { http } from '../support/http';
import { appointmentsHoldingSlot } from '../support/slot-bookings';
import { receipt, setFaults, waitForFinal, useSandboxGateway } from '../support/pipeline';
import { waitFor } from '../support/wait-for';

const gw = useSandboxGateway();

interface SlotView {
  id: string;
  start: string;
  practitioner?: { id: string };
}

/** Appointments in the EHR that take this slot. */
const appointmentsOnSlot = (slotId: string): Promise<any[]> => appointmentsHoldingSlot(gw().fhirBase, slotId);

/** Free slots a few days out, distinct per test through the offset. */
async function freeSlots(dayOffset: number, limit: number, extra = ''): Promise<SlotView[]> {
  const from = new Date(Date.now() + dayOffset * 86_400_000).toISOString().slice(0, 10);
  const res = await http('GET', `${gw().url}/v1/slots?from=${from}&limit=${limit}${extra}`);
  expect(res.status).toBe(200);
  return res.body.slots as SlotView[];
}

it('offers free slots earliest first, filtered by practitioner, each free in the EHR', async () => {
  const from = new Date(Date.now() + 2 * 86_400_000);
  const res = await http(
    'GET',
    `${gw().url}/v1/slots?from=${from.toISOString()}&limit=5&practitioner=pr-0001`,
  );
  expect(res.status).toBe(200);
  expect(res.body.freshness.source).toBe('ehr');
  const slots = res.body.slots as SlotView[];
  expect(slots).toHaveLength(5);
  const starts = slots.map((s) => Date.parse(s.start));
  expect(starts).toEqual([...starts].sort((a, b) => a - b));
  expect(starts.every((s) => s >= from.getTime())).toBe(true);
  for (const slot of slots) {
    expect(slot.practitioner?.id).toBe('pr-0001');
    const ehr = await http('GET', `${gw().fhirBase}/Slot/${slot.id}`);
    expect(ehr.body.status).toBe('free');
  }
  const bad = await http('GET', `${gw().url}/v1/slots?limit=500`);
  expect(bad.status).toBe(400);
});

it('books a slot: the Appointment lands on it once, the slot turns busy and is no longer offered', async () => {
  const [slot] = await freeSlots(3, 1);
  if (!slot) throw new Error('no free slot');
  const res = await http('POST', `${gw().url}/v1/appointments`, {
    body: {
      patientId: 'pat-0010',
      slotId: slot.id,
      mode: 'video',
      appointmentType: 'follow-up',
      reason: 'Follow-up',
    },
    headers: { prefer: 'wait=10', 'idempotency-key': `book-${slot.id}` },
  });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ status: 'succeeded', kind: 'appointment.book', patientId: 'pat-0010' });
  const appointmentId = (res.body.resourceRef as string).replace('Appointment/', '');

  const stored = await http('GET', `${gw().fhirBase}/Appointment/${appointmentId}`);
  expect(stored.body).toMatchObject({
    status: 'booked',
    start: slot.start,
    slot: [{ reference: `Slot/${slot.id}` }],
    appointmentType: { coding: [{ code: 'FOLLOWUP' }] },
  });
  expect(stored.body.participant.map((p: any) => p.actor.reference)).toContain('Patient/pat-0010');
  expect(stored.body.extension).toContainEqual(expect.objectContaining({ valueCode: 'video' }));
  expect((await http('GET', `${gw().fhirBase}/Slot/${slot.id}`)).body.status).toBe('busy');
  expect(await appointmentsOnSlot(slot.id)).toHaveLength(1);

  // The same request again: the same operation, nothing booked twice.
  const again = await http('POST', `${gw().url}/v1/appointments`, {
    body: {
      patientId: 'pat-0010',
      slotId: slot.id,
      mode: 'video',
      appointmentType: 'follow-up',
      reason: 'Follow-up',
    },
    headers: { 'idempotency-key': `book-${slot.id}` },
  });
  expect(again.body.operationId).toBe(res.body.operationId);
  expect(await appointmentsOnSlot(slot.id)).toHaveLength(1);

  // Taken now: another caller is told at once, and the slot is not offered any more.
  const late = await http('POST', `${gw().url}/v1/appointments`, {
    body: { patientId: 'pat-0011', slotId: slot.id },
  });
  expect(late.status).toBe(409);
  expect(late.body.code).toBe('SLOT_TAKEN');
  const offered = await freeSlots(3, 20);
  expect(offered.map((s) => s.id)).not.toContain(slot.id);

  const list = await http('GET', `${gw().url}/v1/patients/pat-0010/appointments?from=${slot.start}`);
  expect(list.body.appointments.map((a: { id: string }) => a.id)).toContain(appointmentId);
});

it('lets exactly one of 20 callers racing for one slot book it; the others hear SLOT_TAKEN', async () => {
  const [slot] = await freeSlots(5, 1);
  if (!slot) throw new Error('no free slot');
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_v, i) =>
      http('POST', `${gw().url}/v1/appointments`, {
        body: { patientId: `pat-${String(30 + i).padStart(4, '0')}`, slotId: slot.id },
        headers: { prefer: 'wait=10' },
      }),
    ),
  );
  const accepted = answers.filter((a) => a.status < 300);
  const refused = answers.filter((a) => a.status === 409);
  expect(accepted.length + refused.length).toBe(20);
  for (const r of refused) expect(r.body.code).toBe('SLOT_TAKEN');
  const finals = await waitForFinal(
    gw().url,
    accepted.map((a) => a.body.operationId as string),
  );
  const succeeded = finals.filter((r) => r.status === 'succeeded');
  expect(succeeded).toHaveLength(1);
  for (const r of finals.filter((f) => f.status !== 'succeeded')) {
    expect(r).toMatchObject({ status: 'failed', lastError: { code: 'SLOT_TAKEN' } });
  }
  expect(await appointmentsOnSlot(slot.id)).toHaveLength(1);
  expect((await http('GET', `${gw().fhirBase}/Slot/${slot.id}`)).body.status).toBe('busy');
  console.log(
    `slot race: 20 callers, booked 1, refused at once ${refused.length}, failed receipts ${finals.length - 1}`,
  );
});

it('shows a booking taken during an outage as pending, then books it once the EHR is back', async () => {
  const [slot] = await freeSlots(7, 1);
  if (!slot) throw new Error('no free slot');
  const patient = 'pat-0060';
  const live = await http('GET', `${gw().url}/v1/patients/${patient}/summary`);
  expect(live.body.freshness.source).toBe('ehr');

  await setFaults(gw().url, { mode: 'down', kind: 'refuse' });
  const booked = await http('POST', `${gw().url}/v1/appointments`, {
    body: { patientId: patient, slotId: slot.id },
  });
  expect(booked.status).toBe(202);
  const operationId = booked.body.operationId as string;

  const during = await http('GET', `${gw().url}/v1/patients/${patient}/summary`);
  expect(during.status).toBe(200);
  expect(during.body.freshness.source).toBe('cache');
  const pending = during.body.upcomingAppointments.find((a: any) => a.pending?.operationId === operationId);
  expect(pending).toMatchObject({
    slotId: slot.id,
    status: 'booked',
    pending: { status: expect.stringMatching(/^(queued|sending)$/) },
  });
  // Another caller through the gateway cannot take the promised slot meanwhile.
  const rival = await http('POST', `${gw().url}/v1/appointments`, {
    body: { patientId: 'pat-0061', slotId: slot.id },
  });
  expect(rival.status).toBe(409);

  await setFaults(gw().url, { mode: 'up' });
  const [final] = await waitForFinal(gw().url, [operationId]);
  expect(final.status).toBe('succeeded');
  const after = await waitFor(
    async () => {
      const res = await http('GET', `${gw().url}/v1/patients/${patient}/summary`);
      return res.body.freshness?.source === 'ehr' ? res : undefined;
    },
    { timeoutMs: 20000, what: 'a live summary after recovery' },
  );
  const ids = after.body.upcomingAppointments.map((a: any) => a.id);
  expect(ids).toContain((final.resourceRef as string).replace('Appointment/', ''));
  expect(after.body.upcomingAppointments.some((a: any) => a.pending !== undefined)).toBe(false);
  expect(await appointmentsOnSlot(slot.id)).toHaveLength(1);
  expect((await receipt(gw().url, operationId)).attempts).toBeGreaterThanOrEqual(1);
});

it('offers and books only the visit modes a calendar declares', async () => {
  const schedule = await http('POST', `${gw().fhirBase}/Schedule`, {
    body: {
      resourceType: 'Schedule',
      active: true,
      actor: [{ reference: 'Practitioner/pr-0002' }],
      extension: [
        { url: 'https://continuum.example/fhir/StructureDefinition/visit-modes', valueCode: 'in-person' },
      ],
    },
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(schedule.status).toBe(201);
  // Far ahead of the seeded calendar, so this is the only slot in its hour.
  const start = new Date(Date.UTC(2027, 5, 1, 3, 0, 0));
  const slot = await http('POST', `${gw().fhirBase}/Slot`, {
    body: {
      resourceType: 'Slot',
      schedule: { reference: `Schedule/${schedule.body.id as string}` },
      status: 'free',
      start: start.toISOString(),
      end: new Date(start.getTime() + 30 * 60_000).toISOString(),
    },
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(slot.status).toBe(201);
  const range = `from=${start.toISOString()}&to=${new Date(start.getTime() + 3600_000).toISOString()}`;

  const video = await http('GET', `${gw().url}/v1/slots?${range}&mode=video`);
  expect(video.body.slots).toEqual([]);
  const inPerson = await http('GET', `${gw().url}/v1/slots?${range}&mode=in-person`);
  expect(inPerson.body.slots.map((s: { id: string }) => s.id)).toEqual([slot.body.id]);
  expect(inPerson.body.slots[0].modes).toEqual(['in-person']);

  const refused = await http('POST', `${gw().url}/v1/appointments`, {
    body: { patientId: 'pat-0062', slotId: slot.body.id, mode: 'video' },
  });
  expect(refused.status).toBe(400);
  expect(refused.body.errors).toEqual([{ field: 'mode', message: 'this slot does not offer video visits' }]);
  expect((await http('GET', `${gw().fhirBase}/Slot/${slot.body.id as string}`)).body.status).toBe('free');
});
