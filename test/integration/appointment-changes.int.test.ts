/**
 * Cancel, confirm and reschedule, checked in the EHR: a cancellation carries the coded reason and
 * frees the slot; a confirmation accepts for the patient; a reschedule books the new slot before it
 * cancels the old appointment, shows both steps on its receipt, and leaves the old appointment
 * untouched when the new slot cannot be had.
 */
import { http } from '../support/http';
import { setFaults, waitForFinal, useSandboxGateway } from '../support/pipeline';

const gw = useSandboxGateway();

let dayOffset = 8;
/** Two free slots on a day no other test here uses. */
async function twoFreeSlots(): Promise<[string, string]> {
  const from = new Date(Date.now() + dayOffset++ * 86_400_000).toISOString().slice(0, 10);
  const res = await http('GET', `${gw().url}/v1/slots?from=${from}&limit=2`);
  const [a, b] = res.body.slots as { id: string }[];
  if (!a || !b) throw new Error('not enough free slots');
  return [a.id, b.id];
}

async function book(patientId: string, slotId: string): Promise<string> {
  const res = await http('POST', `${gw().url}/v1/appointments`, {
    body: { patientId, slotId },
    headers: { prefer: 'wait=10' },
  });
  expect(res.status).toBe(201);
  return (res.body.resourceRef as string).replace('Appointment/', '');
}

const ehr = async (path: string): Promise<any> => (await http('GET', `${gw().fhirBase}/${path}`)).body;

it('cancels with a coded reason and frees the slot; a second cancel changes nothing', async () => {
  const [slot] = await twoFreeSlots();
  const id = await book('pat-0070', slot);

  const res = await http('POST', `${gw().url}/v1/appointments/${id}/cancel`, {
    body: { reason: 'weather' },
    headers: { prefer: 'wait=10' },
  });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ status: 'succeeded', kind: 'appointment.cancel', patientId: 'pat-0070' });
  const appointment = await ehr(`Appointment/${id}`);
  expect(appointment.status).toBe('cancelled');
  expect(appointment.cancelationReason.coding).toEqual([
    { system: 'http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason', code: 'oth-weath' },
  ]);
  expect((await ehr(`Slot/${slot}`)).status).toBe('free');
  const version = appointment.meta.versionId as string;

  const again = await http('POST', `${gw().url}/v1/appointments/${id}/cancel`, {
    body: { reason: 'weather', patientId: 'pat-0070' },
    headers: { prefer: 'wait=10', 'idempotency-key': `cancel-again-${id}` },
  });
  expect(again.body.status).toBe('succeeded');
  expect(again.body.history.at(-1).note).toMatch(/already cancelled/);
  expect((await ehr(`Appointment/${id}`)).meta.versionId).toBe(version);
});

it("refuses a change named for another patient's appointment", async () => {
  const [slot] = await twoFreeSlots();
  const id = await book('pat-0071', slot);
  const res = await http('POST', `${gw().url}/v1/appointments/${id}/cancel`, {
    body: { patientId: 'pat-0072' },
  });
  expect(res.status).toBe(404);
  expect((await ehr(`Appointment/${id}`)).status).toBe('booked');
});

it('confirms a tentative appointment for the patient', async () => {
  const [slot] = await twoFreeSlots();
  const created = await http('POST', `${gw().fhirBase}/Appointment`, {
    body: {
      resourceType: 'Appointment',
      status: 'pending',
      start: (await ehr(`Slot/${slot}`)).start,
      end: (await ehr(`Slot/${slot}`)).end,
      participant: [{ actor: { reference: 'Patient/pat-0073' }, status: 'needs-action' }],
    },
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const res = await http('POST', `${gw().url}/v1/appointments/${id}/confirm`, {
    headers: { prefer: 'wait=10' },
  });
  expect(res.body.status).toBe('succeeded');
  const appointment = await ehr(`Appointment/${id}`);
  expect(appointment.status).toBe('booked');
  expect(appointment.participant[0].status).toBe('accepted');
});

it('reschedules as a saga: books the new slot, then cancels the old, each step on the receipt', async () => {
  const [oldSlot, newSlot] = await twoFreeSlots();
  const oldId = await book('pat-0074', oldSlot);
  const res = await http('POST', `${gw().url}/v1/appointments/${oldId}/reschedule`, {
    body: { slotId: newSlot },
    headers: { prefer: 'wait=10' },
  });
  expect(res.status).toBe(201);
  expect(res.body.status).toBe('succeeded');
  const notes = (res.body.history as { note?: string }[]).map((h) => h.note ?? '');
  expect(notes.some((n) => n.startsWith('step 1 of 2: booked Appointment/'))).toBe(true);
  expect(notes.some((n) => n === `step 2 of 2: cancelled Appointment/${oldId}`)).toBe(true);
  const newId = (res.body.resourceRef as string).replace('Appointment/', '');
  expect(newId).not.toBe(oldId);
  expect((await ehr(`Appointment/${newId}`)).status).toBe('booked');
  expect((await ehr(`Appointment/${newId}`)).slot).toEqual([{ reference: `Slot/${newSlot}` }]);
  expect((await ehr(`Appointment/${oldId}`)).status).toBe('cancelled');
  expect((await ehr(`Slot/${oldSlot}`)).status).toBe('free');
  expect((await ehr(`Slot/${newSlot}`)).status).toBe('busy');
});

it('leaves the old appointment untouched when the new slot is taken', async () => {
  const [oldSlot, newSlot] = await twoFreeSlots();
  const oldId = await book('pat-0075', oldSlot);
  const taken = await book('pat-0076', newSlot);
  expect(taken).toBeDefined();

  // Told at once when the EHR can say.
  const refused = await http('POST', `${gw().url}/v1/appointments/${oldId}/reschedule`, {
    body: { slotId: newSlot },
  });
  expect(refused.status).toBe(409);
  expect(refused.body.code).toBe('SLOT_TAKEN');

  // When it cannot say at acceptance, the saga finds out at its first step and stops there.
  const [, otherSlot] = await twoFreeSlots();
  await setFaults(gw().url, { mode: 'down', kind: 'http503', paths: ['Appointment'] });
  const queued = await http('POST', `${gw().url}/v1/appointments/${oldId}/reschedule`, {
    body: { slotId: otherSlot, patientId: 'pat-0075' },
  });
  expect(queued.status).toBe(202);
  const slot = await ehr(`Slot/${otherSlot}`);
  const busy = await http('PUT', `${gw().fhirBase}/Slot/${otherSlot}`, {
    body: { ...slot, status: 'busy' },
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(busy.status).toBe(200);
  await setFaults(gw().url, { mode: 'up' });

  const [final] = await waitForFinal(gw().url, [queued.body.operationId as string]);
  expect(final).toMatchObject({ status: 'failed', lastError: { code: 'SLOT_TAKEN' } });
  expect((await ehr(`Appointment/${oldId}`)).status).toBe('booked');
  expect((await ehr(`Slot/${oldSlot}`)).status).toBe('busy');
});

it('shows a queued cancellation on the appointment as pending', async () => {
  const [slot] = await twoFreeSlots();
  const id = await book('pat-0077', slot);
  const start = (await ehr(`Appointment/${id}`)).start as string;
  const listUrl = `${gw().url}/v1/patients/pat-0077/appointments?from=${encodeURIComponent(start)}`;
  expect((await http('GET', listUrl)).body.freshness.source).toBe('ehr');
  await setFaults(gw().url, { mode: 'down', kind: 'refuse' });
  const res = await http('POST', `${gw().url}/v1/appointments/${id}/cancel`, {
    body: { patientId: 'pat-0077' },
  });
  expect(res.status).toBe(202);
  const list = await http('GET', listUrl);
  expect(list.body.freshness.source).toBe('cache');
  const entry = list.body.appointments.find((a: { id: string }) => a.id === id);
  expect(entry).toMatchObject({
    status: 'booked',
    pending: { operationId: res.body.operationId, kind: 'appointment.cancel' },
  });
  await setFaults(gw().url, { mode: 'up' });
  const [final] = await waitForFinal(gw().url, [res.body.operationId as string]);
  expect(final.status).toBe('succeeded');
  expect((await ehr(`Appointment/${id}`)).status).toBe('cancelled');
});

it('never shows an appointment from before a change it knows landed: the stale list is dropped', async () => {
  const [slot] = await twoFreeSlots();
  const id = await book('pat-0078', slot);
  const live = await http('GET', `${gw().url}/v1/patients/pat-0078/summary`);
  expect(live.body.upcomingAppointments.map((a: { id: string }) => a.id)).toContain(id);

  const cancelled = await http('POST', `${gw().url}/v1/appointments/${id}/cancel`, {
    headers: { prefer: 'wait=10' },
  });
  expect(cancelled.body.status).toBe('succeeded');

  await setFaults(gw().url, { mode: 'down', kind: 'refuse' });
  const during = await http('GET', `${gw().url}/v1/patients/pat-0078/summary`);
  expect(during.status).toBe(200);
  expect(during.body.freshness.source).toBe('cache');
  expect(during.body.appointmentsAvailable).toBe(false);
  expect(during.body.upcomingAppointments.map((a: { id: string }) => a.id)).not.toContain(id);
});
