/**
 * `Prefer: wait` is woken by the worker that finished the write, in whatever process it runs, and
 * reads the receipt a handful of times per wait instead of polling Redis. The API and the worker
 * are separate processes of the built gateway on one private Redis, with the sandbox EHR as a third.
 */
import { Redis } from 'ioredis';
import {
  call,
  FaultRig,
  patientId,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';
import { appointmentsHoldingSlot } from '../support/slot-bookings';

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let api: GatewayProcess;
let worker: GatewayProcess;

beforeAll(async () => {
  rig = new FaultRig('prefer-wait');
  redis = await rig.redis();
  sandbox = await rig.sandbox();
  api = await rig.gateway({ role: 'api', redis, sandbox });
  worker = await rig.gateway({ role: 'worker', redis, sandbox });
  // Four processes start here (Redis, the EHR, two gateways): more than 30 s on a loaded machine.
}, 120_000);
afterAll(async () => {
  await rig.close();
});

it('answers a booking with Prefer: wait=5 with 201 and the final receipt, applied by a worker in another process', async () => {
  const from = new Date(Date.now() + 4 * 86_400_000).toISOString().slice(0, 10);
  const slots = await call('GET', `${api.url}/v1/slots?from=${from}&limit=1`);
  const slot = (slots.body.slots as { id: string; start: string }[])[0];
  if (slot === undefined) throw new Error('no free slot');

  const res = await call('POST', `${api.url}/v1/appointments`, {
    body: { patientId: patientId(12), slotId: slot.id, mode: 'in-person', reason: 'Check-up' },
    headers: { prefer: 'wait=5', 'idempotency-key': `${rig.prefix}-book` },
  });

  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ status: 'succeeded', kind: 'appointment.book', patientId: patientId(12) });
  expect(res.headers.get('preference-applied')).toBe('wait=5');
  const appointment = await call('GET', `${sandbox.fhirBase}/${res.body.resourceRef as string}`);
  expect(appointment.body).toMatchObject({ status: 'booked', start: slot.start });
  expect(await appointmentsHoldingSlot(sandbox.fhirBase, slot.id)).toHaveLength(1);
});

it('reads the record a handful of times over a 3 s wait that ends in 202, not every few milliseconds', async () => {
  await worker.process.stop();
  const client = new Redis(redis.url, { maxRetriesPerRequest: 2 });
  const monitor = await client.monitor();
  const reads: string[] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'get' && args[1]?.startsWith(`{${rig.prefix}}:op:`)) reads.push(args[1]);
  });
  try {
    const res = await call('PATCH', `${api.url}/v1/patients/${patientId(13)}`, {
      body: { email: 'waits-three-seconds@example.org' },
      headers: { prefer: 'wait=3' },
    });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('queued');
    const ofThisWrite = reads.filter((key) => key === `{${rig.prefix}}:op:${res.body.operationId as string}`);
    process.stdout.write(`Prefer: wait=3 answered 202 after ${ofThisWrite.length} reads of its record\n`);
    expect(ofThisWrite.length).toBeGreaterThanOrEqual(1);
    expect(ofThisWrite.length).toBeLessThanOrEqual(5);
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
});
