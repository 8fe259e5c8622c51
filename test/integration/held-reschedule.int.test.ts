/**
 * A reschedule whose credentials are refused after its first steps reached the EHR: the new
 * appointment is booked and the old one cancelled, then freeing the old slot meets the refusal.
 * The write waits for the credentials like any other, and once they work it finishes; it must not
 * take its own cancellation for someone else's and fail a move that happened.
 */
import { http } from '../support/http';
import { receipt, setFaults, waitForFinal } from '../support/pipeline';
import { appointmentsHoldingSlot } from '../support/slot-bookings';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(90000);

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      // Retried by hand below, never by the periodic probe while the refusal is staged.
      connections: { sandbox: { maxWritesPerSecond: 0, credentialsProbeIntervalMs: 3_600_000 } },
    },
  });
});
afterAll(async () => {
  await setFaults(gw.url, { mode: 'up' }).catch(() => undefined);
  await gw.stop();
});

const ehr = async (path: string): Promise<any> => (await http('GET', `${gw.fhirBase}/${path}`)).body;

it('finishes a reschedule held by refused credentials after it had cancelled the old appointment', async () => {
  const from = new Date(Date.now() + 12 * 86_400_000).toISOString().slice(0, 10);
  const slots = (await http('GET', `${gw.url}/v1/slots?from=${from}&limit=2`)).body.slots as { id: string }[];
  const [oldSlot, newSlot] = slots.map((s) => s.id);
  if (oldSlot === undefined || newSlot === undefined) throw new Error('not enough free slots');
  const booked = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId: 'pat-0090', slotId: oldSlot },
    headers: { prefer: 'wait=10' },
  });
  expect(booked.status).toBe(201);
  const oldId = (booked.body.resourceRef as string).replace('Appointment/', '');

  // Only the old slot refuses: booking the new one and cancelling the old one go through.
  await setFaults(gw.url, { mode: 'down', kind: 'http401', paths: [`Slot/${oldSlot}`] });
  const res = await http('POST', `${gw.url}/v1/appointments/${oldId}/reschedule`, {
    body: { slotId: newSlot, patientId: 'pat-0090' },
  });
  expect(res.status).toBe(202);
  const operationId = res.body.operationId as string;
  await waitFor(
    async () => {
      const status = (await http('GET', `${gw.url}/v1/status`)).body.connections.sandbox;
      return status.state === 'credentials-rejected' ? true : undefined;
    },
    { what: 'the connection to be credentials-rejected' },
  );
  const held = await receipt(gw.url, operationId);
  expect(held.status).toBe('queued');
  expect((await ehr(`Appointment/${oldId}`)).status).toBe('cancelled');

  await setFaults(gw.url, { mode: 'up' });
  expect(await gw.gateway.retryCredentialsNow('sandbox')).toEqual({ sandbox: 'recovered' });
  const [final] = await waitForFinal(gw.url, [operationId]);

  expect(final).toMatchObject({ status: 'succeeded', kind: 'appointment.reschedule' });
  const newId = (final.resourceRef as string).replace('Appointment/', '');
  expect((await ehr(`Appointment/${newId}`)).status).toBe('booked');
  expect((await ehr(`Appointment/${oldId}`)).status).toBe('cancelled');
  expect((await ehr(`Slot/${oldSlot}`)).status).toBe('free');
  // Booked once: the retry found its own booking rather than making another.
  const onNewSlot = await appointmentsHoldingSlot(gw.fhirBase, newSlot);
  expect(onNewSlot.map((a) => a.id as string)).toEqual([newId]);
});
