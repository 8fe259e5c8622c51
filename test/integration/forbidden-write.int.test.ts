/**
 * A 403 can mean "not your credentials" or "not this write" (a restricted resource, a missing write
 * scope). The first 403 is taken for the credentials: the connection pauses its writes, none fails.
 * When an authenticated read then works again and the same write still meets 403, it is the write
 * the EHR forbids: it fails with the EHR's answer, so its patient's lane moves on instead of waiting
 * for ever, and the connection's other writes go through.
 */
import { http } from '../support/http';
import { emailOf, history, receipt, setFaults, waitForFinal } from '../support/pipeline';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60000);

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 40 },
      connections: { sandbox: { maxWritesPerSecond: 0, credentialsProbeIntervalMs: 300 } },
    },
  });
});
afterAll(async () => {
  await setFaults(gw.url, { mode: 'up' });
  await gw.stop();
});

it('fails a write the EHR keeps forbidding once the credentials are proven, and lets the lane go on', async () => {
  const from = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
  const slots = await http('GET', `${gw.url}/v1/slots?from=${from}&limit=1`);
  const slot = (slots.body.slots as { id: string }[])[0];
  if (slot === undefined) throw new Error('no free slot');

  // Appointments are forbidden; patients (and the credentials probe, a Patient search) are not.
  await setFaults(gw.url, { mode: 'down', kind: 'http403', paths: ['Appointment'] });
  const booking = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId: 'pat-0012', slotId: slot.id, mode: 'in-person', reason: 'Check-up' },
    headers: { 'idempotency-key': `forbidden-${slot.id}` },
  });
  expect(booking.status).toBe(202);
  const bookingId = booking.body.operationId as string;
  // The patient's next write waits behind the booking in its lane.
  const email = `forbidden-${Date.now()}@example.org`;
  const update = await http('PATCH', `${gw.url}/v1/patients/pat-0012`, {
    body: { email },
    headers: { 'idempotency-key': `forbidden-email-${slot.id}` },
  });
  expect(update.status).toBe(202);

  const [failed, applied] = await waitForFinal(gw.url, [bookingId, update.body.operationId as string], 30000);
  expect(failed).toMatchObject({
    status: 'failed',
    lastError: { code: 'EHR_REJECTED', ehrStatus: 403 },
  });
  // Held once for the credentials (the first 403), then judged.
  expect(
    failed.history.some((h: any) => h.note === 'waiting for the EHR to accept the connection credentials'),
  ).toBe(true);
  expect(applied.status).toBe('succeeded');
  expect(emailOf((await history(gw.fhirBase, 'Patient/pat-0012')).at(-1))).toBe(email);

  // The connection is not left refused: its status says it is up again.
  await waitFor(
    async () => {
      const status = await http('GET', `${gw.url}/v1/status`);
      return status.body.connections.sandbox.state === 'up' ? true : undefined;
    },
    { timeoutMs: 10000, what: 'the connection up again' },
  );
  expect((await receipt(gw.url, bookingId)).status).toBe('failed');
});
