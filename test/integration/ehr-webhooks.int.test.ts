/**
 * EHR notifications in: a genuine notification is queued and applied (the cache and phone index
 * then show the EHR's change even while it is down); a forgery suite proves that missing, wrong,
 * tampered, re-serialised, stale and replayed notifications are refused with nothing queued.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { http } from '../support/http';
import { setFaults } from '../support/pipeline';
import { TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

const HMAC_SECRET = 'sandbox-webhook-secret-0123456789';
const STD_SECRET = `whsec_${Buffer.from('standard-webhooks-secret-for-tests').toString('base64')}`;

let hmacGw: TestGateway;
let stdGw: TestGateway;
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });

beforeAll(async () => {
  const gateway = (webhooks: Record<string, unknown>) =>
    startTestGateway({
      overrides: { sandbox: { enabled: true, patientCount: 220 }, connections: { sandbox: { webhooks } } },
    });
  hmacGw = await gateway({ scheme: 'hmac-sha256', secret: HMAC_SECRET });
  stdGw = await gateway({ scheme: 'standard-webhooks', secret: STD_SECRET });
});
afterEach(async () => {
  await setFaults(hmacGw.url, { mode: 'up' });
});
afterAll(async () => {
  await Promise.all([hmacGw.stop(), stdGw.stop()]);
  redis.disconnect();
});

const sign = (body: string): string => createHmac('sha256', HMAC_SECRET).update(body).digest('hex');

async function post(gw: TestGateway, body: string, headers: Record<string, string>) {
  return http('POST', `${gw.url}/webhooks/ehr/sandbox`, {
    raw: body,
    headers: { 'content-type': 'application/fhir+json', ...headers },
  });
}

async function queued(gw: TestGateway): Promise<number> {
  const queue = new Queue('ehr-notifications', { connection: redis, prefix: `{${gw.prefix}}` });
  const counts = await queue.getJobCounts();
  await queue.close();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

it('applies a genuine notification: the cache and phone index show the change while the EHR is down', async () => {
  const patient = (await http('GET', `${hmacGw.fhirBase}/Patient/pat-0100`)).body;
  const newNumber = '617-555-0177';
  const changed = await http('PUT', `${hmacGw.fhirBase}/Patient/pat-0100`, {
    body: { ...patient, telecom: [{ system: 'phone', value: newNumber, use: 'mobile' }] },
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(changed.status).toBe(200);
  const body = JSON.stringify(changed.body);
  const res = await post(hmacGw, body, { 'x-signature': sign(body) });
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ accepted: true, refs: 1 });
  await waitFor(
    () => Promise.resolve(hmacGw.logs.text().includes('EHR notification applied') ? true : undefined),
    {
      timeoutMs: 20000,
      what: 'the notification to be applied',
    },
  );

  await setFaults(hmacGw.url, { mode: 'down', kind: 'refuse' });
  const lookup = await http('GET', `${hmacGw.url}/v1/patients/lookup?phone=${encodeURIComponent(newNumber)}`);
  expect(lookup.body).toMatchObject({ found: true, freshness: { source: 'cache' } });
  expect(lookup.body.matches[0]).toMatchObject({ id: 'pat-0100', phones: ['+16175550177'] });
});

it('refuses forged notifications and queues nothing for them', async () => {
  const patient = (await http('GET', `${hmacGw.fhirBase}/Patient/pat-0101`)).body;
  const body = JSON.stringify(patient);
  const before = await queued(hmacGw);

  const genuine = [await post(hmacGw, body, { 'x-signature': sign(body) })];
  const forged = [
    await post(hmacGw, body, {}),
    await post(hmacGw, body, { 'x-signature': sign(`${body} `) }),
    await post(hmacGw, body.replace('"Patient"', '"Patient" '), { 'x-signature': sign(body) }),
    await post(hmacGw, JSON.stringify(JSON.parse(body), null, 2), { 'x-signature': sign(body) }),
    await post(hmacGw, body, { 'x-signature': sign(body) }),
  ];
  const codes = forged.map((r) => r.body.code as string);
  expect(codes).toEqual(['UNAUTHORIZED', 'UNAUTHORIZED', 'UNAUTHORIZED', 'UNAUTHORIZED', 'DUPLICATE_EVENT']);

  // Standard Webhooks: the same, plus a stale timestamp and a replayed id.
  const webhook = new Webhook(STD_SECRET);
  const stdBody = JSON.stringify((await http('GET', `${stdGw.fhirBase}/Patient/pat-0102`)).body);
  const headersFor = (id: string, at: Date, payload = stdBody) => ({
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': webhook.sign(id, at, payload),
  });
  const id = `msg_${randomUUID()}`;
  const stdBefore = await queued(stdGw);
  genuine.push(await post(stdGw, stdBody, headersFor(id, new Date())));
  const stdForged = [
    await post(stdGw, stdBody, {}),
    await post(stdGw, stdBody, {
      ...headersFor(`msg_${randomUUID()}`, new Date()),
      'webhook-signature': 'v1,AAAA',
    }),
    await post(stdGw, `${stdBody} `, headersFor(`msg_${randomUUID()}`, new Date())),
    await post(stdGw, stdBody, headersFor(`msg_${randomUUID()}`, new Date(Date.now() - 10 * 60_000))),
    await post(stdGw, stdBody, headersFor(id, new Date())),
  ];
  expect(stdForged.map((r) => r.body.code as string)).toEqual([
    'UNAUTHORIZED',
    'UNAUTHORIZED',
    'UNAUTHORIZED',
    'UNAUTHORIZED',
    'DUPLICATE_EVENT',
  ]);

  const all = [...forged, ...stdForged];
  const forgedAccepted = all.filter((r) => r.status < 300).length;
  const genuineAccepted = genuine.filter((r) => r.status === 202).length;
  console.log(
    `webhook forgery suite: forged accepted ${forgedAccepted} of ${all.length}, genuine accepted ${genuineAccepted} of ${genuine.length}`,
  );
  expect(forgedAccepted).toBe(0);
  expect(genuineAccepted).toBe(genuine.length);
  expect(all.every((r) => r.status >= 400 && r.status < 500)).toBe(true);
  expect(await queued(hmacGw)).toBe(before + 1);
  expect(await queued(stdGw)).toBe(stdBefore + 1);
  // Refusals are logged by reason, never with the body.
  expect(hmacGw.logs.text()).not.toContain(patient.name?.[0]?.family ?? '\u0000');
});

it('refuses an HMAC-signed notification replayed under a fresh X-Event-Id, which the signature does not cover', async () => {
  const patient = (await http('GET', `${hmacGw.fhirBase}/Patient/pat-0107`)).body;
  const withVersion = JSON.stringify(patient);
  const { meta: _meta, ...unversioned } = patient;
  const withoutVersion = JSON.stringify({ ...unversioned, id: 'pat-0108' });
  const before = await queued(hmacGw);
  const codes: (string | number)[] = [];
  for (const body of [withVersion, withoutVersion]) {
    const first = await post(hmacGw, body, { 'x-signature': sign(body), 'x-event-id': randomUUID() });
    codes.push(first.status);
    const replayed = await post(hmacGw, body, { 'x-signature': sign(body), 'x-event-id': randomUUID() });
    codes.push(replayed.body.code as string);
  }
  expect(codes).toEqual([202, 'DUPLICATE_EVENT', 202, 'DUPLICATE_EVENT']);
  expect(await queued(hmacGw)).toBe(before + 2);
});

it('takes R5 id-only notification bundles and re-reads what a gap in event numbers may have missed', async () => {
  const bundle = (first: number, ids: string[]) => ({
    resourceType: 'Bundle',
    type: 'history',
    entry: [
      {
        resource: {
          resourceType: 'SubscriptionStatus',
          status: 'active',
          type: 'event-notification',
          subscription: { reference: 'Subscription/sub-1' },
          notificationEvent: ids.map((id, i) => ({
            eventNumber: String(first + i),
            focus: { reference: `Patient/${id}` },
          })),
        },
      },
    ],
  });
  const send = async (payload: unknown) => {
    const body = JSON.stringify(payload);
    return post(hmacGw, body, { 'x-signature': sign(body) });
  };
  const firstOne = await send(bundle(1, ['pat-0103', 'pat-0104']));
  expect(firstOne.status).toBe(202);
  expect(firstOne.body).toMatchObject({ refs: 2, reread: false });
  const afterGap = await send(bundle(7, ['pat-0105']));
  expect(afterGap.status).toBe(202);
  expect(afterGap.body).toMatchObject({ refs: 1, reread: true });
  expect(hmacGw.logs.text()).toContain('EHR notifications missing');
  // Heartbeats carry no event, only the count so far: equal to the last seen is quiet, above it is a gap.
  const heartbeat = (count: number) => ({
    resourceType: 'Bundle',
    type: 'history',
    entry: [
      {
        resource: {
          resourceType: 'SubscriptionStatus',
          status: 'active',
          type: 'heartbeat',
          eventsSinceSubscriptionStart: String(count),
          subscription: { reference: 'Subscription/sub-1' },
        },
      },
    ],
  });
  expect((await send(heartbeat(7))).body).toMatchObject({ refs: 0, reread: false });
  expect((await send(heartbeat(8))).body).toMatchObject({ refs: 0, reread: true });
  const noBody = await post(hmacGw, '', { 'x-signature': sign(''), 'x-event-id': randomUUID() });
  expect(noBody.status).toBe(202);
  expect(noBody.body).toMatchObject({ refs: 0, reread: true });
});

it("answers 503 while its queue refuses the notification, and takes the EHR's retry once it works again", async () => {
  const patient = (await http('GET', `${hmacGw.fhirBase}/Patient/pat-0106`)).body;
  const body = JSON.stringify(patient);
  // Earlier notifications finish first: the refusal below must not catch one of them mid-flight.
  await waitFor(async () => {
    const queue = new Queue('ehr-notifications', { connection: redis, prefix: `{${hmacGw.prefix}}` });
    const counts = await queue.getJobCounts('active', 'wait', 'delayed');
    await queue.close();
    return Object.values(counts).every((n) => n === 0) ? true : undefined;
  });
  const before = await queued(hmacGw);
  // The queue's own Redis keys turned unusable: every insert into it fails, while the notification
  // log, on other keys, keeps working.
  const meta = `{${hmacGw.prefix}}:ehr-notifications:meta`;
  await redis.set(meta, 'not a queue');
  let refused;
  try {
    refused = await post(hmacGw, body, { 'x-signature': sign(body) });
  } finally {
    await redis.del(meta);
  }
  expect({ status: refused.status, code: refused.body.code, retryable: refused.body.retryable }).toEqual({
    status: 503,
    code: 'QUEUE_UNAVAILABLE',
    retryable: true,
  });
  expect(await queued(hmacGw)).toBe(before);

  // The EHR sends the same notification again: it is new to the gateway, since it was never queued.
  const retried = await post(hmacGw, body, { 'x-signature': sign(body) });
  expect({ status: retried.status, code: retried.body.code }).toEqual({ status: 202, code: undefined });
  expect(await queued(hmacGw)).toBe(before + 1);
  const replayed = await post(hmacGw, body, { 'x-signature': sign(body) });
  expect(replayed.body.code).toBe('DUPLICATE_EVENT');
});

it('refuses notifications for a connection that has no signature scheme', async () => {
  const plain = await startTestGateway();
  try {
    const res = await http('POST', `${plain.url}/webhooks/ehr/sandbox`, {
      body: { resourceType: 'Patient', id: 'x' },
    });
    expect(res.status).toBe(401);
  } finally {
    await plain.stop();
  }
});
