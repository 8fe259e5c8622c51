/**
 * The audit trail as a compliance officer uses it: every write a worker applies is recorded once,
 * on behalf of the client and the human agent that sent it; GET /v1/audit finds a tenant's records
 * by patient, client, agent and time and never shows another tenant's; a lookup records a keyed
 * hash of the number, never the number; a client with only `patients:lookup` learns ids, nothing
 * more. (Every route's own record is checked by the authorization matrix, generated from the
 * route table.)
 */
import { Redis } from 'ioredis';
import type { AuditRecord } from '../../src/domain/audit';
import { processOperation } from '../../src/use-cases/process-operation';
import { createClient, type TestClient } from '../support/client-credentials';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';
import { TEST_REDIS_URL } from '../support/redis';

jest.setTimeout(60000);

const CONFIG = {
  sandbox: { enabled: true },
  connections: { sandbox: {}, other: {} },
  defaultConnection: 'sandbox',
  tenants: { default: { connections: ['sandbox'] }, south: { connections: ['other'] } },
};

let api: InProcessApi;
let desk: TestClient;
let auditor: TestClient;
let southAuditor: TestClient;
let ivr: TestClient;

beforeAll(async () => {
  api = await startInProcessApi({ overrides: CONFIG });
  desk = await createClient(api.access, 'audit-desk', 'default', [
    'patients:read',
    'patients:write',
    'appointments:read',
    'appointments:write',
    'calls:write',
  ]);
  auditor = await createClient(api.access, 'audit-officer', 'default', ['audit:read']);
  southAuditor = await createClient(api.access, 'audit-officer-south', 'south', ['audit:read']);
  ivr = await createClient(api.access, 'audit-ivr', 'default', ['patients:lookup']);
});

afterAll(async () => {
  await api.stop();
});

const as =
  (client: TestClient) =>
  (headers: Record<string, string> = {}) => ({
    authorization: `Bearer ${client.key}`,
    ...headers,
  });

async function records(): Promise<AuditRecord[]> {
  const found: AuditRecord[] = [];
  for await (const stored of api.rig.deps.audit.scan(undefined, undefined)) found.push(stored.record);
  return found;
}

it('records every write a worker applies exactly once, for the client and agent that sent it', async () => {
  const headers = as(desk)({ 'x-agent-id': 'agent-7' });
  const slots = await api.request().get('/v1/slots?limit=2').set(headers);
  const slotId = (slots.body as { slots: { id: string }[] }).slots[0]?.id;
  expect(slotId).toBeDefined();
  const writes: { method: 'patch' | 'post'; path: string; body: object; patient: string }[] = [
    {
      method: 'patch',
      path: '/v1/patients/pat-0011',
      body: { email: 'audit-11@example.org' },
      patient: 'pat-0011',
    },
    {
      method: 'post',
      path: '/v1/appointments',
      body: { patientId: 'pat-0012', slotId },
      patient: 'pat-0012',
    },
    {
      method: 'post',
      path: '/v1/calls',
      body: { patientId: 'pat-0013', startedAt: new Date(Date.now() - 60_000).toISOString() },
      patient: 'pat-0013',
    },
    {
      method: 'post',
      path: '/v1/callbacks',
      body: { patientId: 'pat-0014', phone: '+16175550123' },
      patient: 'pat-0014',
    },
  ];
  const accepted: { id: string; patient: string }[] = [];
  for (const w of writes) {
    const res = await api.request()[w.method](w.path).set(headers).send(w.body);
    expect(res.status).toBe(202);
    accepted.push({ id: (res.body as { operationId: string }).operationId, patient: w.patient });
  }
  // What a worker does with each, once.
  for (const op of accepted) expect(await processOperation(api.rig.deps, op.id)).toBe('succeeded');
  // A job run again after the write finished (a worker crash) applies nothing, and records nothing.
  expect(await processOperation(api.rig.deps, accepted[0]!.id)).toBe('skipped');

  const all = await records();
  let recorded = 0;
  for (const op of accepted) {
    const applied = all.filter((r) => r.channel === 'worker' && r.operation === op.id);
    expect(applied).toHaveLength(1);
    expect(applied[0]).toMatchObject({
      outcome: 0,
      result: 'succeeded',
      client: desk.id,
      tenant: 'default',
      connection: 'sandbox',
      patients: [`Patient/${op.patient}`],
    });
    expect(applied[0]!.kind).toMatch(/^write\.applied\./);
    const acceptedRecord = all.filter((r) => r.channel === 'api' && r.operation === op.id);
    expect(acceptedRecord).toHaveLength(1);
    expect(acceptedRecord[0]).toMatchObject({ agent: 'agent-7', client: desk.id, outcome: 0 });
    recorded += applied.length === 1 && acceptedRecord.length === 1 ? 1 : 0;
  }
  console.log(`worker applies recorded ${recorded} of ${accepted.length}`);
});

it("answers GET /v1/audit with a tenant's records by patient, agent and time, paged, as AuditEvents", async () => {
  const headers = as(desk)({ 'x-agent-id': 'agent-9' });
  for (let i = 0; i < 3; i++) {
    expect((await api.request().get('/v1/patients/pat-0021').set(headers)).status).toBe(200);
  }
  expect((await api.request().get('/v1/patients/pat-0022').set(headers)).status).toBe(200);

  const byPatient = await api.request().get('/v1/audit?patient=Patient/pat-0021').set(as(auditor)());
  expect(byPatient.status).toBe(200);
  const events = (byPatient.body as { auditEvents: any[] }).auditEvents;
  expect(events).toHaveLength(3);
  for (const event of events) {
    expect(event).toMatchObject({
      resourceType: 'AuditEvent',
      type: { code: 'rest' },
      action: 'R',
      outcome: '0',
    });
    expect(event.subtype[0]).toEqual({ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' });
    expect(event.entity[0].what).toEqual({ reference: 'Patient/pat-0021' });
    expect(event.agent.map((a: any) => a.who.identifier.value)).toEqual([desk.id, 'agent-9']);
  }
  // Newest first.
  const times = events.map((e) => String(e.recorded));
  expect([...times].sort().reverse()).toEqual(times);

  // Paged by cursor: two pages, no record twice, none missed.
  const first = await api.request().get('/v1/audit?agent=agent-9&limit=2').set(as(auditor)());
  expect(first.body.auditEvents).toHaveLength(2);
  expect(first.body.next).toEqual(expect.any(String));
  const second = await api
    .request()
    .get(`/v1/audit?agent=agent-9&limit=2&cursor=${encodeURIComponent(first.body.next as string)}`)
    .set(as(auditor)());
  expect(second.body.auditEvents).toHaveLength(2);
  const ids = [...first.body.auditEvents, ...second.body.auditEvents].map((e: any) => e.id);
  expect(new Set(ids).size).toBe(4);
  const third = await api
    .request()
    .get(`/v1/audit?agent=agent-9&limit=2&cursor=${encodeURIComponent(second.body.next ?? '')}`)
    .set(as(auditor)());
  // The auditor's own searches are recorded under its client, not agent-9.
  expect(third.body.auditEvents ?? []).toHaveLength(0);

  // A time window that ends before these reads finds none of them.
  const before = await api
    .request()
    .get(`/v1/audit?patient=pat-0021&until=${encodeURIComponent('2001-01-01T00:00:00Z')}`)
    .set(as(auditor)());
  expect(before.body.auditEvents).toHaveLength(0);

  // Another tenant's auditor sees none of it, by any filter.
  for (const query of ['patient=pat-0021', `client=${desk.id}`, 'agent=agent-9', '']) {
    const south = await api.request().get(`/v1/audit?${query}`).set(as(southAuditor)());
    expect(south.status).toBe(200);
    const foreign = (south.body.auditEvents as any[]).filter((e) => e.source.site !== 'south');
    expect(foreign).toEqual([]);
  }
  // Without audit:read, no trail.
  expect((await api.request().get('/v1/audit').set(as(desk)())).status).toBe(403);
});

it('discloses ids only to patients:lookup, and records a keyed hash of the number, never the number', async () => {
  const patient = await api.request().get('/v1/patients/pat-0031').set(as(desk)());
  const phone = (patient.body as { phones: string[] }).phones[0] ?? '';
  const digits = phone.replace(/\D/g, '').slice(-10);
  expect(digits).toHaveLength(10);
  const full = await api
    .request()
    .get(`/v1/patients/lookup?phone=${encodeURIComponent(phone)}`)
    .set(as(desk)());
  expect(full.status).toBe(200);
  const ids = await api
    .request()
    .get(`/v1/patients/lookup?phone=${encodeURIComponent(phone)}`)
    .set(as(ivr)());
  expect(ids.status).toBe(200);
  expect(Object.keys(ids.body as object).sort()).toEqual(['count', 'found', 'freshness', 'matches']);
  const fullIds = (full.body as { matches: { id: string }[] }).matches.map((m) => m.id).sort();
  expect((ids.body as { matches: { id: string }[] }).matches.map((m) => m.id).sort()).toEqual(fullIds);
  expect(fullIds.length).toBeGreaterThan(0);
  for (const match of (ids.body as { matches: object[] }).matches) expect(Object.keys(match)).toEqual(['id']);
  // It may verify with the id it was given, but may not read the record.
  expect(
    (
      await api
        .request()
        .get(`/v1/patients/${fullIds[0] ?? 'pat-0001'}`)
        .set(as(ivr)())
    ).status,
  ).toBe(403);
  const verified = await api
    .request()
    .post('/v1/patients/verify')
    .set(as(ivr)())
    .send({ patientId: fullIds[0] ?? 'pat-0001', birthDate: '1900-01-01', phone });
  expect(verified.status).toBe(200);

  const lookups = (await records()).filter((r) => r.kind === 'patient.lookup');
  expect(lookups.length).toBeGreaterThanOrEqual(2);
  const hashes = new Set(lookups.map((r) => r.query));
  expect(hashes.size).toBe(1);
  // Nowhere in Redis under this gateway: not in the streams, not in key names.
  const raw = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    const keys = await raw.keys(`{${api.rig.prefix.replace(/^\{|\}$/g, '')}}:audit:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).not.toContain(digits);
      if ((await raw.type(key)) === 'stream') {
        const entries = await raw.xrange(key, '-', '+');
        expect(JSON.stringify(entries)).not.toContain(digits);
      }
    }
  } finally {
    raw.disconnect();
  }
});

it('records a failed verification against the patient it tried to be, without saying so to the caller', async () => {
  const patient = await api.request().get('/v1/patients/pat-0033').set(as(desk)());
  const family = (patient.body as { name: { family: string } }).name.family;
  const wrong = await api
    .request()
    .post('/v1/patients/verify')
    .set(as(ivr)({ 'x-request-id': 'audit-verify-wrong' }))
    .send({ family, birthDate: '1901-01-01', callerId: '+16175550999' });
  expect(wrong.status).toBe(200);
  expect(wrong.body).toEqual({ verified: false, freshness: expect.any(Object) });
  const [record] = (await records()).filter((r) => r.requestId === 'audit-verify-wrong');
  expect(record).toMatchObject({ kind: 'patient.verify', outcome: 4, client: ivr.id });
  expect(record?.patients).toContain('Patient/pat-0033');
});
