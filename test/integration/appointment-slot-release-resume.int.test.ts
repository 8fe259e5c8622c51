/**
 * A hold or a cancel changes the visit, then frees its slot: two EHR writes. When the EHR refuses
 * the connection's credentials between the two, the write waits for them and resumes. The resumed
 * try must still free the slot it had not freed: the visit is held (or cancelled) and its time is
 * offered again, not left busy for nobody.
 */
import { http } from '../support/http';
import { setFaults, waitForFinal } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(90_000);

let gw: TestGateway;
let desk: Record<string, string>;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 60 },
      connections: {
        sandbox: { maxWritesPerSecond: 0, breaker: { failureThreshold: 3, probeIntervalMs: 300 } },
      },
    },
  });
  desk = await scopedClient(gw.prefix, 'scheduling-desk', [
    'appointments:read',
    'appointments:write',
    'operations:read',
  ]);
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});
afterAll(async () => {
  await gw.stop();
});

const ehr = async (path: string): Promise<any> => (await http('GET', `${gw.fhirBase}/${path}`)).body;

async function booked(patientId: string, days: number): Promise<{ id: string; slot: string }> {
  const from = new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
  const slots = await http('GET', `${gw.url}/v1/slots?from=${from}&limit=1`, { headers: desk });
  const [slot] = slots.body.slots as { id: string }[];
  if (!slot) throw new Error('no free slot');
  const res = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId, slotId: slot.id },
    headers: { ...desk, prefer: 'wait=10' },
  });
  expect(res.status).toBe(201);
  return { id: (res.body.resourceRef as string).replace('Appointment/', ''), slot: slot.id };
}

it.each([
  ['hold', 'pat-0011', 3, 'waitlist'],
  ['cancel', 'pat-0012', 4, 'cancelled'],
] as const)(
  'frees the slot on the try resumed after the credentials were refused between the two writes (%s)',
  async (action, patientId, days, status) => {
    const { id, slot } = await booked(patientId, days);
    expect((await ehr(`Slot/${slot}`)).status).toBe('busy');

    // Only Slot requests are refused: the visit's own change goes through, the slot's does not.
    await setFaults(gw.url, { mode: 'down', kind: 'http401', paths: ['Slot'] });
    const res = await http('POST', `${gw.url}/v1/appointments/${id}/${action}`, {
      body: { reason: 'weather' },
      headers: desk,
    });
    expect(res.status).toBe(202);
    const operationId = res.body.operationId as string;
    await waitFor(async () => ((await ehr(`Appointment/${id}`)).status === status ? true : undefined), {
      timeoutMs: 20_000,
      what: `Appointment/${id} ${status}`,
    });
    const waiting = await waitFor(
      async () => {
        const r = (await http('GET', `${gw.url}/v1/operations/${operationId}`, { headers: desk })).body;
        return r.status === 'queued' && r.lastError !== undefined ? r : undefined;
      },
      { timeoutMs: 20_000, what: 'the write waiting for credentials' },
    );
    console.log(`${action}: waiting with`, waiting.lastError?.code, 'attempts', waiting.attempts);

    await setFaults(gw.url, { mode: 'up' });
    const [done] = await waitForFinal(gw.url, [operationId]);
    expect(done.status).toBe('succeeded');
    expect((await ehr(`Appointment/${id}`)).status).toBe(status);
    expect((await ehr(`Slot/${slot}`)).status).toBe('free');
  },
);
