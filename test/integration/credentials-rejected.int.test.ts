/**
 * An EHR refusing the gateway's own credentials (an expired token: the sandbox answers 401 on every
 * path but /metadata) is an outage of the connection, never a verdict on the writes: writes taken
 * meanwhile wait without spending an attempt and none fails, reads come from the continuity cache,
 * /readyz and /v1/status name the connection and the state, subscribers hear it once; once the
 * credentials work again the periodic authenticated probe finds it and the backlog drains by itself,
 * in order, each write applied once.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { http } from '../support/http';
import { emailOf, history, receipt, setFaults, waitForFinal } from '../support/pipeline';
import { TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(120000);

const SECRET = `whsec_${Buffer.from('credentials-rejected-events').toString('base64')}`;
const EHR_SECRET = 'sandbox-webhook-secret-credentials-0123';

interface Received {
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

let server: Server;
const received: Received[] = [];
let gw: TestGateway;
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<Received, 'id'>;
      received.push({ id: String(req.headers['webhook-id']), type: body.type, data: body.data });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: {
        sandbox: {
          maxWritesPerSecond: 0,
          breaker: { failureThreshold: 3, probeIntervalMs: 400 },
          credentialsProbeIntervalMs: 500,
          webhooks: { scheme: 'hmac-sha256', secret: EHR_SECRET },
        },
      },
      events: {
        subscribers: [
          {
            kind: 'webhook',
            name: 'desk',
            url: `http://127.0.0.1:${port}/events`,
            secret: SECRET,
            types: [
              'ehr.credentials-rejected',
              'ehr.recovered',
              'ehr.unavailable',
              'operation.failed',
              'patient.updated',
            ],
          },
        ],
      },
    },
  });
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});
afterAll(async () => {
  await gw.stop();
  redis.disconnect();
  await new Promise((resolve) => server.close(resolve));
});

/** BullMQ's own count of tries per job: its retry budget, which the wait must not spend. */
async function triesMade(operationIds: readonly string[]): Promise<number[]> {
  const queue = new Queue('writes-sandbox', { connection: redis, prefix: `{${gw.prefix}}` });
  try {
    return await Promise.all(operationIds.map(async (id) => (await queue.getJob(id))?.attemptsMade ?? -1));
  } finally {
    await queue.close();
  }
}

async function sandboxStatus(): Promise<any> {
  const res = await http('GET', `${gw.url}/v1/status`);
  expect(res.status).toBe(200);
  return res.body.connections.sandbox;
}

const ofType = (type: string): Received[] => received.filter((e) => e.type === type);

/** Seeded patients with a phone number, read once through the gateway while the EHR is up (cached). */
interface CachedPatient {
  readonly id: string;
  readonly phone: string;
  readonly birthDate: string;
  readonly family: string;
}

async function cachedPatients(count: number): Promise<CachedPatient[]> {
  const bundle = await http('GET', `${gw.fhirBase}/Patient?_count=60`);
  const found: CachedPatient[] = [];
  for (const entry of bundle.body.entry as { resource: any }[]) {
    const view = await http('GET', `${gw.url}/v1/patients/${entry.resource.id as string}`);
    expect(view.body.freshness.source).toBe('ehr');
    if (view.body.phones?.length > 0 && view.body.birthDate !== undefined)
      found.push({
        id: view.body.id,
        phone: view.body.phones[0],
        birthDate: view.body.birthDate,
        family: view.body.name.family,
      });
    if (found.length === count) break;
  }
  if (found.length < count) throw new Error('the seed has too few patients with phones');
  return found;
}

it('pauses writes without spending attempts, reads from the cache, says so, and drains in order once the credentials work', async () => {
  const patients = await cachedPatients(5);
  const [first] = patients;
  if (first === undefined) throw new Error('no patient');
  const lookedUp = await http('GET', `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(first.phone)}`);
  expect(lookedUp.body).toMatchObject({ found: true, freshness: { source: 'ehr' } });
  const summaryLive = await http('GET', `${gw.url}/v1/patients/${first.id}/summary`);
  expect(summaryLive.status).toBe(200);
  const slotsFrom = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
  const slotsUrl = `${gw.url}/v1/slots?from=${slotsFrom}&limit=5&practitioner=pr-0002`;
  const slotsLive = await http('GET', slotsUrl);
  expect(slotsLive.body.freshness.source).toBe('ehr');
  const versionsBefore = new Map<string, number>();
  for (const p of patients) versionsBefore.set(p.id, (await history(gw.fhirBase, `Patient/${p.id}`)).length);

  const unseen = 'pat-0201';
  const unseenBefore = (await history(gw.fhirBase, `Patient/${unseen}`)).length;

  await setFaults(gw.url, { mode: 'down', kind: 'http401' });

  // A patient the gateway has not seen: the accept path's existence check meets the refusal too,
  // and must take the write (the worker checks the patient once the credentials work), not refuse it.
  const accepted = await http('PATCH', `${gw.url}/v1/patients/${unseen}`, {
    body: { email: 'unseen-0@example.org' },
  });
  expect(accepted.status).toBe(202);
  const unseenOp = accepted.body.operationId as string;

  // 50 writes over 5 patients, interleaved: each patient's lane must land in this order.
  const sent = new Map<string, { operationId: string; email: string }[]>();
  for (let n = 0; n < 10; n++) {
    for (const p of patients) {
      const email = `cred-${p.id}-${String(n)}@example.org`;
      const res = await http('PATCH', `${gw.url}/v1/patients/${p.id}`, { body: { email } });
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('queued');
      sent.set(p.id, [...(sent.get(p.id) ?? []), { operationId: res.body.operationId as string, email }]);
    }
  }
  const operationIds = [unseenOp, ...[...sent.values()].flat().map((s) => s.operationId)];
  expect(operationIds).toHaveLength(51);

  // The connection is in the state, and says so; the gateway stays ready (it takes writes).
  const rejected = await waitFor(
    async () => {
      const status = await sandboxStatus();
      return status.state === 'credentials-rejected' ? status : undefined;
    },
    { timeoutMs: 20000, what: 'the connection to be credentials-rejected' },
  );
  expect(rejected).toMatchObject({
    degraded: true,
    credentials: { state: 'credentials-rejected', ehrStatus: 401 },
    breaker: { state: 'closed' },
  });
  expect(Date.parse(rejected.since as string)).not.toBeNaN();
  expect(rejected.reason).toMatch(/refused this connection's credentials/);

  const ready = await http('GET', `${gw.url}/readyz`);
  expect(ready.status).toBe(200);
  expect(ready.body.ready).toBe(true);
  expect(ready.body.degradedConnections).toEqual(['sandbox']);
  expect(ready.body.connections.sandbox).toMatchObject({
    state: 'credentials-rejected',
    degraded: true,
    since: rejected.since,
    // /metadata answers without a token: reachable, yet degraded.
    reachable: true,
  });
  expect(ready.body.connections.sandbox.reason).toMatch(/credentials/);

  // Several authenticated probes go by while refused: a fair window for a write to be sent, spent or failed.
  const probes = new Set<string>();
  await waitFor(
    async () => {
      const at = (await sandboxStatus()).credentials.lastProbeAt as string | undefined;
      if (at !== undefined) probes.add(at);
      return probes.size >= 4 ? true : undefined;
    },
    { timeoutMs: 30000, intervalMs: 100, what: 'four credentials probes' },
  );
  const waiting = await Promise.all(operationIds.map((id) => receipt(gw.url, id)));
  expect(waiting.map((r) => r.status)).toEqual(operationIds.map(() => 'queued'));
  expect(waiting.map((r) => r.attempts)).toEqual(operationIds.map(() => 0));
  // Only the head of each lane has a job yet (6 lanes); the rest wait in their lanes.
  const tries = await triesMade(operationIds);
  expect(tries.filter((t) => t >= 0)).toEqual(tries.filter((t) => t >= 0).map(() => 0));
  expect(tries.filter((t) => t >= 0).length).toBeGreaterThanOrEqual(6);
  const duringStatus = await sandboxStatus();
  expect(duringStatus.queue).toMatchObject({ queued: 51, failed: 0, needsReview: 0 });
  expect(duringStatus.breaker.state).toBe('closed');
  const failedList = await http('GET', `${gw.url}/v1/operations?status=failed`);
  expect(failedList.body.operations).toEqual([]);

  // Reads: from the continuity cache, marked so, never 422.
  const read = await http('GET', `${gw.url}/v1/patients/${first.id}`);
  expect(read.status).toBe(200);
  expect(read.body.freshness.source).toBe('cache');
  const lookup = await http('GET', `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(first.phone)}`);
  expect(lookup.status).toBe(200);
  expect(lookup.body.found).toBe(true);
  expect(lookup.body.freshness.source).toBe('cache');
  // Nothing cached for a patient nobody read: an outage (503, retryable), not a refusal of the request.
  const never = await http('GET', `${gw.url}/v1/patients/pat-0210`);
  expect(never.status).toBe(503);
  expect(never.body).toMatchObject({ code: 'EHR_CREDENTIALS_REJECTED', retryable: true });
  // An agent's identity check of a patient read before: against the cached record.
  const verified = await http('POST', `${gw.url}/v1/patients/verify`, {
    body: { patientId: first.id, birthDate: first.birthDate, family: first.family, callerId: 'desk-7' },
  });
  expect(verified.status).toBe(200);
  expect(verified.body).toMatchObject({
    verified: true,
    patientId: first.id,
    freshness: { source: 'cache' },
  });
  const summary = await http('GET', `${gw.url}/v1/patients/${first.id}/summary`);
  expect(summary.status).toBe(200);
  expect(summary.body.freshness.source).toBe('cache');
  const slots = await http('GET', slotsUrl);
  expect(slots.status).toBe(200);
  expect(slots.body.freshness.source).toBe('cache');
  expect(slots.body.slots).toEqual(slotsLive.body.slots);

  // Subscribers heard it once, as its own event, and no breaker event came of it.
  await waitFor(() => Promise.resolve(ofType('ehr.credentials-rejected').length >= 1 ? true : undefined), {
    what: 'the ehr.credentials-rejected event',
  });
  expect(ofType('ehr.credentials-rejected')).toHaveLength(1);
  expect(ofType('ehr.credentials-rejected')[0]?.data).toEqual({
    connection: 'sandbox',
    state: 'credentials-rejected',
    ehrStatus: 401,
  });
  expect(ofType('ehr.unavailable')).toEqual([]);
  expect(ofType('ehr.recovered')).toEqual([]);

  // The credentials work again: the periodic probe finds it, and the backlog drains by itself.
  await setFaults(gw.url, { mode: 'up' });
  const final = await waitForFinal(gw.url, operationIds, 60000);
  expect(final.map((r) => r.status)).toEqual(operationIds.map(() => 'succeeded'));
  // The refused tries cost nothing: each write was sent once, when it could be applied.
  expect(final.map((r) => r.attempts)).toEqual(operationIds.map(() => 1));
  expect((await sandboxStatus()).state).toBe('up');

  // The EHR holds each write once, in the order each patient's writes were taken.
  for (const p of patients) {
    const versions = await history(gw.fhirBase, `Patient/${p.id}`);
    const applied = versions.slice(versionsBefore.get(p.id)).map(emailOf);
    expect(applied).toEqual((sent.get(p.id) ?? []).map((s) => s.email));
  }
  const unseenVersions = await history(gw.fhirBase, `Patient/${unseen}`);
  expect(unseenVersions.slice(unseenBefore).map(emailOf)).toEqual(['unseen-0@example.org']);

  await waitFor(() => Promise.resolve(ofType('ehr.recovered').length >= 1 ? true : undefined), {
    what: 'the ehr.recovered event',
  });
  expect(ofType('ehr.recovered')).toHaveLength(1);
  expect(ofType('ehr.recovered')[0]?.data).toMatchObject({
    connection: 'sandbox',
    reason: 'credentials-rejected',
    since: rejected.since,
  });
  expect(ofType('ehr.credentials-rejected')).toHaveLength(1);
  expect(ofType('operation.failed')).toEqual([]);
  const readyAfter = await http('GET', `${gw.url}/readyz`);
  expect(readyAfter.body).toMatchObject({ ready: true, degradedConnections: [] });
  expect(readyAfter.body.connections.sandbox.state).toBe('up');
});

it('treats a 403 the same way, and leaves no secret in the logs', async () => {
  const [patient] = await cachedPatients(1);
  if (patient === undefined) throw new Error('no patient');
  const before = received.length;
  await setFaults(gw.url, { mode: 'down', kind: 'http403' });
  const res = await http('PATCH', `${gw.url}/v1/patients/${patient.id}`, {
    body: { email: 'forbidden-window@example.org' },
  });
  expect(res.status).toBe(202);
  const rejected = await waitFor(
    async () => {
      const status = await sandboxStatus();
      return status.state === 'credentials-rejected' ? status : undefined;
    },
    { timeoutMs: 20000, what: 'the connection to be credentials-rejected (403)' },
  );
  expect(rejected.credentials.ehrStatus).toBe(403);
  const cached = await http('GET', `${gw.url}/v1/patients/${patient.id}`);
  expect(cached.body.freshness.source).toBe('cache');
  expect((await receipt(gw.url, res.body.operationId as string)).status).toBe('queued');

  await setFaults(gw.url, { mode: 'up' });
  const [done] = await waitForFinal(gw.url, [res.body.operationId as string]);
  expect(done).toMatchObject({ status: 'succeeded', attempts: 1 });
  await waitFor(
    () =>
      Promise.resolve(
        received.slice(before).filter((e) => e.type === 'ehr.recovered').length === 1 ? true : undefined,
      ),
    { what: 'the second episode to end' },
  );
  expect(
    received
      .slice(before)
      .map((e) => e.type)
      .filter((type) => type.startsWith('ehr.')),
  ).toEqual(['ehr.credentials-rejected', 'ehr.recovered']);

  // The state is logged by connection and name; the credential the gateway presents never is.
  const lines = gw.logs.text();
  expect(lines).toMatch(/credentials-rejected/);
  expect(lines).not.toMatch(/cs_[A-Za-z0-9_-]{20,}/);
  expect(lines.toLowerCase()).not.toMatch(/bearer [a-z0-9]/);
});

it('keeps an EHR notification that met the refusal, and applies it once the credentials work', async () => {
  const patient = 'pat-0120';
  const current = (await http('GET', `${gw.fhirBase}/Patient/${patient}`)).body;
  const changed = await http('PUT', `${gw.fhirBase}/Patient/${patient}`, {
    body: { ...current, telecom: [{ system: 'phone', value: '617-555-0142', use: 'mobile' }] },
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(changed.status).toBe(200);
  const before = received.length;
  await setFaults(gw.url, { mode: 'down', kind: 'http401' });

  const body = JSON.stringify(changed.body);
  const signature = createHmac('sha256', EHR_SECRET).update(body).digest('hex');
  const res = await http('POST', `${gw.url}/webhooks/ehr/sandbox`, {
    raw: body,
    headers: { 'content-type': 'application/fhir+json', 'x-signature': signature },
  });
  expect(res.status).toBe(202);
  // The worker's re-read meets the refusal: that alone puts the connection in the state.
  await waitFor(async () => ((await sandboxStatus()).state === 'credentials-rejected' ? true : undefined), {
    timeoutMs: 20000,
    what: 'the notification to meet the refusal',
  });
  const notifications = new Queue('ehr-notifications', { connection: redis, prefix: `{${gw.prefix}}` });
  try {
    expect((await notifications.getJobCounts('failed')).failed).toBe(0);
    const updates = (): Received[] =>
      received
        .slice(before)
        .filter((e) => e.type === 'patient.updated' && e.data.resourceRef === `Patient/${patient}`);
    expect(updates()).toEqual([]);

    await setFaults(gw.url, { mode: 'up' });
    await waitFor(() => Promise.resolve(updates().length === 1 ? true : undefined), {
      timeoutMs: 30000,
      what: 'the notification to be applied after recovery',
    });
    expect((await notifications.getJobCounts('failed')).failed).toBe(0);
    const lookup = await http(
      'GET',
      `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent('+16175550142')}`,
    );
    expect(lookup.body.matches.map((m: { id: string }) => m.id)).toContain(patient);
  } finally {
    await notifications.close();
  }
});
