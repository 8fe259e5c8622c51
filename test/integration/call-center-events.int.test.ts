/**
 * Call-center events out: signed per Standard Webhooks (verified here with the standardwebhooks
 * library), references only, delivered in order once each through a subscriber outage, and a
 * subscriber answering 410 is disabled, reported, and enabled again by a replay.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { TEST_REDIS_URL } from '../support/redis';
import { http } from '../support/http';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

const SECRET = `whsec_${Buffer.from('call-center-events-secret').toString('base64')}`;
const EHR_SECRET = 'sandbox-webhook-secret-0123456789';

interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
  raw: string;
  headers: Record<string, string>;
}

let server: Server;
let url = '';
const received: Received[] = [];
/** Status codes to answer next, in order; 200 once exhausted. */
const script: number[] = [];
let gw: TestGateway;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = script.shift() ?? 200;
      if (status === 200) {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw) as { type: string; data: Record<string, unknown> };
        received.push({
          id: String(req.headers['webhook-id']),
          type: body.type,
          data: body.data,
          raw,
          headers: {
            'webhook-id': String(req.headers['webhook-id']),
            'webhook-timestamp': String(req.headers['webhook-timestamp']),
            'webhook-signature': String(req.headers['webhook-signature']),
          },
        });
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/events`;
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: {
        sandbox: { maxWritesPerSecond: 0, webhooks: { scheme: 'hmac-sha256', secret: EHR_SECRET } },
      },
      events: { subscribers: [{ kind: 'webhook', name: 'desk', url, secret: SECRET }] },
    },
  });
});
afterAll(async () => {
  await gw.stop();
  await new Promise((resolve) => server.close(resolve));
});

/** The sandbox pushes to the gateway, as an EHR's rest-hook Subscription would. */
async function subscribeGateway(criteria: string): Promise<void> {
  const subscription = await http('POST', `${gw.fhirBase}/Subscription`, {
    body: {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'Continuum',
      criteria,
      channel: {
        type: 'rest-hook',
        endpoint: `${gw.url}/webhooks/ehr/sandbox`,
        payload: 'application/fhir+json',
      },
      extension: [
        {
          url: 'https://www.medplum.com/fhir/StructureDefinition/subscription-secret',
          valueString: EHR_SECRET,
        },
      ],
    },
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(subscription.status).toBe(201);
}

const ofOperation = (operationId: string) => received.filter((r) => r.data.operationId === operationId);
const until = <T>(what: string, check: () => T | undefined, timeoutMs = 30000): Promise<T> =>
  waitFor(() => Promise.resolve(check()), { timeoutMs, what });

it('tells subscribers of a booking, signed, with references only', async () => {
  const from = new Date(Date.now() + 11 * 86_400_000).toISOString().slice(0, 10);
  const slotId = (await http('GET', `${gw.url}/v1/slots?from=${from}&limit=1`)).body.slots[0].id as string;
  const res = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId: 'pat-0110', slotId },
    headers: { prefer: 'wait=10' },
  });
  expect(res.body.status).toBe('succeeded');
  const events = await until('the booking events', () => {
    const got = ofOperation(res.body.operationId as string);
    return got.length >= 2 ? got : undefined;
  });
  expect(events.map((e) => e.type).sort()).toEqual(['appointment.booked', 'operation.succeeded']);
  for (const e of events) {
    expect(() => new Webhook(SECRET).verify(e.raw, e.headers)).not.toThrow();
    expect(e.data).toMatchObject({
      connection: 'sandbox',
      patientId: 'pat-0110',
      resourceRef: res.body.resourceRef,
    });
  }
  const patient = (await http('GET', `${gw.fhirBase}/Patient/pat-0110`)).body;
  const family = patient.name[0].family as string;
  expect(events.some((e) => e.raw.includes(family) || e.raw.includes(patient.birthDate as string))).toBe(
    false,
  );
});

it('tells subscribers of a change made in the EHR, from its notification', async () => {
  const patient = (await http('GET', `${gw.fhirBase}/Patient/pat-0111`)).body;
  const changed = await http('PUT', `${gw.fhirBase}/Patient/pat-0111`, {
    body: { ...patient, telecom: [{ system: 'phone', value: '617-555-0188' }] },
    headers: { 'content-type': 'application/fhir+json' },
  });
  const body = JSON.stringify(changed.body);
  const notified = await http('POST', `${gw.url}/webhooks/ehr/sandbox`, {
    raw: body,
    headers: {
      'content-type': 'application/fhir+json',
      'x-signature': createHmac('sha256', EHR_SECRET).update(body).digest('hex'),
    },
  });
  expect(notified.status).toBe(202);
  const event = await until('patient.updated', () =>
    received.find((r) => r.type === 'patient.updated' && r.data.resourceRef === 'Patient/pat-0111'),
  );
  expect(event.data).toMatchObject({ source: 'ehr', patientId: 'pat-0111' });
  expect(() => new Webhook(SECRET).verify(event.raw, event.headers)).not.toThrow();
});

it('delivers every event after a subscriber outage, in order, once each', async () => {
  script.push(500, 500, 503);
  const operations: string[] = [];
  for (const email of ['a1@example.org', 'a2@example.org', 'a3@example.org']) {
    const res = await http('PATCH', `${gw.url}/v1/patients/pat-0112`, {
      body: { email },
      headers: { prefer: 'wait=10' },
    });
    expect(res.body.status).toBe('succeeded');
    operations.push(res.body.operationId as string);
  }
  const events = await until(
    'the writes’ events',
    () => {
      const got = received.filter((r) => operations.includes(r.data.operationId as string));
      return got.length >= 6 ? got : undefined;
    },
    60000,
  );
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  const order = events.filter((e) => e.type === 'operation.succeeded').map((e) => e.data.operationId);
  expect(order).toEqual(operations);
  console.log(
    `subscriber outage: refused 3 deliveries, then received ${events.length} of 6 events in order, 0 twice`,
  );
});

it('disables a subscriber that answers 410, reports it, and enables it again on replay', async () => {
  script.push(410);
  const gone = await http('PATCH', `${gw.url}/v1/patients/pat-0113`, {
    body: { email: 'gone@example.org' },
    headers: { prefer: 'wait=10' },
  });
  expect(gone.body.status).toBe('succeeded');
  const desk = await waitFor(
    async () => {
      const status = await http('GET', `${gw.url}/v1/status`);
      const subscriber = (
        status.body.subscribers as { name: string; disabled?: unknown; deadLetters: number }[]
      ).find((s) => s.name === 'desk');
      // Disabled first, then the refused event lands among the dead letters.
      return subscriber?.disabled !== undefined && subscriber.deadLetters === 1 ? subscriber : undefined;
    },
    { timeoutMs: 30000, what: 'the subscriber to be disabled' },
  );
  expect(desk).toMatchObject({ disabled: { reason: expect.stringContaining('410') }, deadLetters: 1 });

  // While disabled, nothing more is sent.
  const quiet = await http('PATCH', `${gw.url}/v1/patients/pat-0113`, {
    body: { email: 'quiet@example.org' },
    headers: { prefer: 'wait=10' },
  });
  expect(quiet.body.status).toBe('succeeded');
  // The receipt is final before its events are published: wait until the disabled subscriber's
  // worker has passed over them, or the replay below would race them.
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('events-desk', { connection, prefix: `{${gw.prefix}}` });
  try {
    await waitFor(
      async () => {
        const job = await queue.getJob(`${quiet.body.operationId as string}.operation.succeeded`);
        return job !== undefined && (await job.getState()) === 'completed' ? true : undefined;
      },
      { timeoutMs: 30000, what: 'the events of the write made while disabled to be passed over' },
    );
  } finally {
    await queue.close();
    connection.disconnect();
  }

  const replay = await http('POST', `${gw.url}/v1/events/subscribers/desk/replay`);
  expect(replay.body).toMatchObject({ subscriber: 'desk', requeued: 1, enabled: true });
  const redelivered = await until('the dead letter to arrive', () =>
    received.find((r) => r.data.operationId === gone.body.operationId),
  );
  expect(redelivered.type).toMatch(/^(operation\.succeeded|patient\.updated)$/);
  expect(ofOperation(quiet.body.operationId as string)).toEqual([]);
  const after = await http('GET', `${gw.url}/v1/events/subscribers`);
  expect(after.body.subscribers[0]).toMatchObject({ name: 'desk', deadLetters: 0 });
});

it('turns a cancellation made in the sandbox into a signed appointment.cancelled at the subscriber', async () => {
  await subscribeGateway('Appointment');
  const bundle = await http(
    'GET',
    `${gw.fhirBase}/Appointment?status=booked&date=ge${new Date().toISOString().slice(0, 10)}&_count=1`,
  );
  const appointment = bundle.body.entry[0].resource;
  const started = Date.now();
  const cancelled = await http('PUT', `${gw.fhirBase}/Appointment/${appointment.id as string}`, {
    body: { ...appointment, status: 'cancelled' },
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(cancelled.status).toBe(200);
  const event = await until('appointment.cancelled', () =>
    received.find(
      (r) =>
        r.type === 'appointment.cancelled' &&
        r.data.resourceRef === `Appointment/${appointment.id as string}`,
    ),
  );
  console.log(`sandbox cancellation -> subscriber event in ${Date.now() - started} ms`);
  expect(event.data).toMatchObject({ source: 'ehr', connection: 'sandbox' });
  expect(() => new Webhook(SECRET).verify(event.raw, event.headers)).not.toThrow();
});

it('turns a patient changed in the sandbox into a fresh cache, a fresh phone index and a signed patient.updated', async () => {
  await subscribeGateway('Patient');
  const patient = (await http('GET', `${gw.fhirBase}/Patient/pat-0114`)).body;
  const changed = await http('PUT', `${gw.fhirBase}/Patient/pat-0114`, {
    body: { ...patient, telecom: [{ system: 'phone', value: '(617) 555-0166' }] },
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(changed.status).toBe(200);
  const event = await until('patient.updated from the sandbox', () =>
    received.find(
      (r) =>
        r.type === 'patient.updated' && r.data.resourceRef === 'Patient/pat-0114' && r.data.source === 'ehr',
    ),
  );
  expect(() => new Webhook(SECRET).verify(event.raw, event.headers)).not.toThrow();

  // The event follows the refresh: with the EHR down, the new number finds the patient from the cache.
  await http('POST', `${gw.url}/sandbox/admin/faults`, { body: { mode: 'down', kind: 'refuse' } });
  try {
    const lookup = await http('GET', `${gw.url}/v1/patients/lookup?phone=6175550166`);
    expect(lookup.body).toMatchObject({ found: true, freshness: { source: 'cache' } });
    expect(lookup.body.matches[0]).toMatchObject({ id: 'pat-0114', phones: ['+16175550166'] });
  } finally {
    await http('POST', `${gw.url}/sandbox/admin/faults`, { body: { mode: 'up' } });
  }
});
