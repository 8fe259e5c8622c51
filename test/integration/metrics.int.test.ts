/**
 * GET /metrics as a Prometheus scraper sees it, with a `metrics:read` client: the families the
 * gateway promises, and an outage rehearsed with the sandbox's fault switch. While the EHR is
 * down the breaker gauge says open and the backlog and its age grow; once it is back the backlog
 * drains to nothing, the drain counters and rate move, and the breaker closes. Canary patient
 * values go through lookups, verification, reads and writes all along, and no label value of any
 * scrape carries one of them, a patient id or an operation id.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '../support/http';
import { setFaults, waitForFinal } from '../support/pipeline';
import { parseExposition, type Exposition } from '../support/prometheus-text';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';
import { ROUTE_TABLE, routeKey } from '../../src/http/route-table';

jest.setTimeout(120000);

const CANARY = {
  given: 'Qqmetricsgiven',
  family: 'Zzmetricsfamily',
  birthDate: '1911-03-17',
  phone: '+16465550177',
  phoneDigits: '6465550177',
  newPhoneDigits: '6465550178',
  email: 'metrics.canary@canary-mail.example',
  line: 'Metricsline 12 Road',
  city: 'Metricscity',
  postalCode: '09123-4567',
  mrn: 'MRNMETRICS77',
};

const FAMILIES = [
  'continuum_http_request_duration_seconds',
  'continuum_ehr_call_duration_seconds',
  'continuum_operations',
  'continuum_queue_jobs',
  'continuum_lanes',
  'continuum_oldest_pending_age_seconds',
  'continuum_drain_rate_per_second',
  'continuum_drain_limit',
  'continuum_drain_in_flight',
  'continuum_writes_finished_total',
  'continuum_breaker_state',
  'continuum_credentials_rejected',
  'continuum_cache_reads_total',
  'continuum_cache_fallbacks_total',
  'continuum_ehr_notifications_total',
  'continuum_events_total',
  'continuum_event_delivery_lag_seconds',
  'continuum_event_dead_letters',
  'continuum_verifications_total',
  'continuum_rate_limit_refusals_total',
  'continuum_audit_records_total',
  'continuum_redis_memory_used_bytes',
  'continuum_redis_memory_max_bytes',
  'continuum_pipeline_snapshot_ok',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_heap_size_used_bytes',
];

const HMAC_SECRET = 'metrics-webhook-secret-0123456789';
const SUBSCRIBER_SECRET = `whsec_${Buffer.from('metrics-subscriber-secret-0123').toString('base64')}`;

let gw: TestGateway;
/** A subscriber that takes every event. */
let listener: Server;
let scraper: Record<string, string>;
let patientId = '';
const operationIds: string[] = [];
const scrapes: Exposition[] = [];

beforeAll(async () => {
  listener = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const listening = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/events`;
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      // The outage below queues three writes; a fourth is over the cap, and counted as refused.
      storage: { queuedWritesPerClient: 3 },
      connections: {
        sandbox: {
          maxWritesPerSecond: 0,
          breaker: { failureThreshold: 1, probeIntervalMs: 400 },
          webhooks: { scheme: 'hmac-sha256', secret: HMAC_SECRET },
          // On, though the sandbox runs in this process: its gauges are under test.
          drain: { adaptive: true },
        },
      },
      // A subscriber nobody listens for: its deliveries are retried, and counted by its name.
      events: {
        subscribers: [
          { kind: 'webhook', name: 'desk', url: 'http://127.0.0.1:9/events', secret: SUBSCRIBER_SECRET },
          { kind: 'webhook', name: 'crm', url: listening, secret: SUBSCRIBER_SECRET },
        ],
      },
    },
  });
  scraper = await scopedClient(gw.prefix, 'prometheus', ['metrics:read']);
});
afterAll(async () => {
  await setFaults(gw.url, { mode: 'up' }).catch(() => undefined);
  await gw.stop();
  await new Promise((resolve) => listener.close(resolve));
});

async function scrape(): Promise<Exposition> {
  const res = await fetch(`${gw.url}/metrics`, { headers: scraper });
  expect(res.status).toBe(200);
  const parsed = parseExposition(await res.text());
  scrapes.push(parsed);
  return parsed;
}

const sandboxValue = (s: Exposition, name: string, labels: Record<string, string> = {}): number =>
  s.value(name, { connection: 'sandbox', ...labels }) ?? Number.NaN;

const finished = (s: Exposition): number =>
  s.find('continuum_writes_finished_total', { connection: 'sandbox' }).reduce((sum, x) => sum + x.value, 0);

it('refuses a scrape without a credential (401) and from a client without metrics:read (403)', async () => {
  expect((await http('GET', `${gw.url}/metrics`, { anonymous: true })).status).toBe(401);
  const reader = await scopedClient(gw.prefix, 'status-reader', ['operations:read']);
  const refused = await http('GET', `${gw.url}/metrics`, { headers: reader });
  expect(refused.status).toBe(403);
  expect(refused.body.requiredScope).toBe('metrics:read');
  expect(String(refused.body)).not.toMatch(/continuum_/);
});

it('answers a metrics:read client with every family, as Prometheus text', async () => {
  const res = await fetch(`${gw.url}/metrics`, { headers: scraper });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parseExposition(await res.text()).families;
  expect(FAMILIES.filter((f) => !families.has(f))).toEqual([]);
});

it('shows an outage and its recovery: breaker, backlog, age, drain; no canary in any label', async () => {
  const created = await http('POST', `${gw.fhirBase}/Patient`, {
    headers: { 'content-type': 'application/fhir+json' },
    body: {
      resourceType: 'Patient',
      identifier: [{ system: 'http://sandbox.continuum.example/mrn', value: CANARY.mrn }],
      name: [{ family: CANARY.family, given: [CANARY.given] }],
      birthDate: CANARY.birthDate,
      telecom: [
        { system: 'phone', value: CANARY.phone },
        { system: 'email', value: CANARY.email },
      ],
      address: [{ line: [CANARY.line], city: CANARY.city, postalCode: CANARY.postalCode }],
    },
  });
  expect(created.status).toBe(201);
  patientId = created.body.id as string;

  // The normal day: a screen pop, a verification, a read (cached for the outage), a write.
  const lookup = await http('GET', `${gw.url}/v1/patients/lookup?phone=${CANARY.phoneDigits}`);
  expect(lookup.body.matches.map((m: { id: string }) => m.id)).toContain(patientId);
  const verified = await http('POST', `${gw.url}/v1/patients/verify`, {
    body: { birthDate: CANARY.birthDate, family: CANARY.family, callerId: CANARY.phone },
  });
  expect(verified.body.verified).toBe(true);
  const wrong = await http('POST', `${gw.url}/v1/patients/verify`, {
    body: { birthDate: '1911-03-18', family: CANARY.family, callerId: CANARY.phone },
  });
  expect(wrong.body.verified).toBe(false);
  expect((await http('GET', `${gw.url}/v1/patients/${patientId}`)).status).toBe(200);
  const first = await http('PATCH', `${gw.url}/v1/patients/${patientId}`, {
    body: { email: CANARY.email.replace('canary@', 'canary1@') },
    headers: { prefer: 'wait=10' },
  });
  expect(first.status).toBe(200);
  operationIds.push(first.body.operationId as string);

  // The EHR tells of a change: the notification carries the whole resource, PHI and all.
  const resource = (await http('GET', `${gw.fhirBase}/Patient/${patientId}`)).body as unknown;
  const notification = JSON.stringify(resource);
  const signature = createHmac('sha256', HMAC_SECRET).update(notification).digest('hex');
  const notify = () =>
    http('POST', `${gw.url}/webhooks/ehr/sandbox`, {
      raw: notification,
      headers: { 'content-type': 'application/fhir+json', 'x-signature': signature },
    });
  expect((await notify()).status).toBe(202);
  expect((await notify()).status).toBe(409);
  await waitFor(
    async () => {
      const s = await scrape();
      return (s.value('continuum_ehr_notifications_total', { connection: 'sandbox', outcome: 'applied' }) ??
        0) > 0 && (s.value('continuum_events_total', { subscriber: 'crm', outcome: 'delivered' }) ?? 0) > 0
        ? true
        : undefined;
    },
    { what: 'the notification to be applied and its event delivered' },
  );

  const before = await scrape();
  expect(sandboxValue(before, 'continuum_ehr_notifications_total', { outcome: 'accepted' })).toBe(1);
  expect(sandboxValue(before, 'continuum_ehr_notifications_total', { outcome: 'duplicate' })).toBe(1);
  expect(before.value('continuum_event_delivery_lag_seconds_count', { subscriber: 'crm' })).toBeGreaterThan(
    0,
  );
  expect(sandboxValue(before, 'continuum_breaker_state')).toBe(0);
  expect(before.value('continuum_verifications_total', { outcome: 'verified' })).toBe(1);
  expect(before.value('continuum_verifications_total', { outcome: 'no-match' })).toBe(1);
  expect(
    before.find('continuum_ehr_call_duration_seconds_count', { connection: 'sandbox', outcome: 'ok' }).length,
  ).toBeGreaterThan(0);
  expect(
    before.find('continuum_http_request_duration_seconds_count', { route: 'GET /v1/patients/:id' }),
  ).toEqual([expect.objectContaining({ labels: { route: 'GET /v1/patients/:id', status: '200' } })]);
  expect(before.value('continuum_audit_records_total', { outcome: 'written' })).toBeGreaterThan(0);
  const finishedBefore = finished(before);
  expect(finishedBefore).toBeGreaterThanOrEqual(1);

  // The EHR goes down; writes are taken and wait.
  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
  const queued = [
    { phones: [CANARY.newPhoneDigits] },
    { email: CANARY.email },
    { address: { line: [CANARY.line], city: CANARY.city, postalCode: CANARY.postalCode } },
  ];
  for (const body of queued) {
    const res = await http('PATCH', `${gw.url}/v1/patients/${patientId}`, { body });
    expect(res.status).toBe(202);
    operationIds.push(res.body.operationId as string);
  }
  const overCap = await http('PATCH', `${gw.url}/v1/patients/${patientId}`, {
    body: { email: CANARY.email.replace('canary@', 'canary4@') },
  });
  expect(overCap.body.code).toBe('WRITE_QUOTA_EXCEEDED');
  const down = await waitFor(
    async () => {
      const s = await scrape();
      return sandboxValue(s, 'continuum_breaker_state') === 2 &&
        sandboxValue(s, 'continuum_oldest_pending_age_seconds') > 0
        ? s
        : undefined;
    },
    { timeoutMs: 30000, intervalMs: 250, what: 'the breaker to open with writes waiting' },
  );
  const backlog =
    sandboxValue(down, 'continuum_operations', { status: 'queued' }) +
    sandboxValue(down, 'continuum_operations', { status: 'sending' });
  expect(backlog).toBe(queued.length);
  expect(sandboxValue(down, 'continuum_lanes')).toBe(1);
  expect(
    down.find('continuum_ehr_call_duration_seconds_count', { connection: 'sandbox', outcome: 'unavailable' })
      .length,
  ).toBeGreaterThan(0);
  // A read during the outage is answered from the continuity cache, and counted so.
  const read = await http('GET', `${gw.url}/v1/patients/${patientId}`);
  expect(read.body.freshness.source).toBe('cache');
  const duringOutage = await scrape();
  expect(
    sandboxValue(duringOutage, 'continuum_cache_fallbacks_total', { reason: 'unavailable' }),
  ).toBeGreaterThan(0);
  expect(sandboxValue(duringOutage, 'continuum_cache_reads_total', { result: 'hit' })).toBeGreaterThan(0);
  expect(finished(duringOutage)).toBe(finishedBefore);
  expect(duringOutage.value('continuum_rate_limit_refusals_total', { limit: 'queued-writes' })).toBe(1);

  // The EHR is back: the backlog drains to nothing and the breaker closes.
  await setFaults(gw.url, { mode: 'up' });
  const receipts = await waitForFinal(gw.url, operationIds);
  expect(receipts.map((r) => r.status)).toEqual(operationIds.map(() => 'succeeded'));
  const recovered = await waitFor(
    async () => {
      const s = await scrape();
      return sandboxValue(s, 'continuum_breaker_state') === 0 &&
        sandboxValue(s, 'continuum_operations', { status: 'queued' }) === 0 &&
        sandboxValue(s, 'continuum_drain_rate_per_second') > 0
        ? s
        : undefined;
    },
    { timeoutMs: 30000, intervalMs: 250, what: 'the backlog to drain and the breaker to close' },
  );
  expect(sandboxValue(recovered, 'continuum_operations', { status: 'sending' })).toBe(0);
  expect(sandboxValue(recovered, 'continuum_oldest_pending_age_seconds')).toBe(0);
  expect(sandboxValue(recovered, 'continuum_lanes')).toBe(0);
  // The adaptive limit is shown, and no permit is left held once nothing is sent.
  expect(sandboxValue(recovered, 'continuum_drain_limit')).toBeGreaterThanOrEqual(1);
  expect(sandboxValue(recovered, 'continuum_drain_in_flight')).toBe(0);
  expect(
    recovered.value('continuum_writes_finished_total', { connection: 'sandbox', outcome: 'succeeded' }),
  ).toBe(finishedBefore + queued.length);
  // The breaker's events went to the subscriber nobody listens for: retried, under its name only.
  await waitFor(
    async () =>
      ((await scrape()).value('continuum_events_total', { subscriber: 'desk', outcome: 'retried' }) ?? 0) > 0
        ? true
        : undefined,
    {
      what: 'an event delivery to be retried',
    },
  );
});

it('counts a request whose client gave up before the answer as aborted, under its route', async () => {
  const route = 'GET /sandbox/fhir{/*rest}';
  const aborted = (s: Exposition): number =>
    s.value('continuum_http_request_duration_seconds_count', { route, status: 'aborted' }) ?? 0;
  const before = aborted(await scrape());
  await setFaults(gw.url, { mode: 'slow', latencyMs: 3000 });
  try {
    // An IVR with a short budget hangs up on a slow answer.
    await expect(
      fetch(`${gw.url}/sandbox/fhir/Patient?_count=1`, {
        headers: { authorization: `Bearer ${gw.key}` },
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
  } finally {
    await setFaults(gw.url, { mode: 'up' });
  }
  await waitFor(async () => (aborted(await scrape()) > before ? true : undefined), {
    what: 'the abandoned request counted as aborted',
  });
});

it('puts no canary value, patient id, operation id or raw path in any label of any scrape', () => {
  expect(scrapes.length).toBeGreaterThan(3);
  expect(patientId).not.toBe('');
  const forbidden = [
    ...Object.values(CANARY),
    CANARY.given.toLowerCase(),
    CANARY.family.toLowerCase(),
    CANARY.newPhoneDigits,
    CANARY.phoneDigits.slice(-7),
    patientId,
    ...operationIds,
  ].map((v) => v.toLowerCase());
  const values = new Set(scrapes.flatMap((s) => s.samples.flatMap((x) => Object.values(x.labels))));
  // The labels that should be there are: the check below reads real label values.
  expect([...values]).toEqual(
    expect.arrayContaining([
      'sandbox',
      'desk',
      'crm',
      'GET /v1/patients/:id',
      'POST /webhooks/ehr/:connection',
    ]),
  );
  const leaks = [...values].filter((v) => forbidden.some((f) => v.toLowerCase().includes(f)));
  expect(leaks).toEqual([]);
  // Routes are named by the table, never by the path called.
  const keys = new Set([...ROUTE_TABLE.map(routeKey), 'unmatched']);
  const routes = new Set(
    scrapes.flatMap((s) => s.samples.flatMap((x) => (x.labels.route === undefined ? [] : [x.labels.route]))),
  );
  expect([...routes].filter((r) => !keys.has(r))).toEqual([]);
});
