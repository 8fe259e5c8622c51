/**
 * Registration is conditional on the MRN: a caller registered twice (two agents, two calls, two
 * Idempotency-Keys) is one patient in the EHR, and the second receipt points at it. When the EHR
 * already holds several patients under that MRN, nothing is created and an operator is asked.
 */
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { createRedisClientRegistry } from '../../adapters/redis/client-registry';
import type { ClientRegistry } from '../../src/domain/access';
import { createLogger } from '../../src/observability/logger';
import { http } from '../support/http';
import { waitForFinal } from '../support/pipeline';
import { captureLogs } from '../support/log-capture';
import { TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(60000);

const SANDBOX_MRN_SYSTEM = 'http://sandbox.continuum.example/mrn';

let gw: TestGateway;
let redis: Redis;
let registry: ClientRegistry;
let desk: string;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      // The same sandbox, as an EHR that ignores If-None-Exist would be used: searched first.
      connections: { sandbox: {}, plain: { capabilities: { conditionalCreate: false } } },
      defaultConnection: 'sandbox',
    },
  });
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  registry = createRedisClientRegistry({
    redis,
    prefix: `{${gw.prefix}}`,
    logger: createLogger({ level: 'silent', destination: captureLogs().stream }),
  });
  ({ key: desk } = await registry.create({
    name: 'registration-desk',
    tenant: 'default',
    scopes: ['patients:read', 'patients:write', 'operations:read'],
  }));
});
afterAll(async () => {
  await registry.close();
  redis.disconnect();
  await gw.stop();
});

const asDesk = (idempotencyKey?: string): Record<string, string> => ({
  authorization: `Bearer ${desk}`,
  ...(idempotencyKey !== undefined ? { 'idempotency-key': idempotencyKey } : {}),
});

const registration = (mrn: string, phone: string) => ({
  name: { given: ['Grace'], family: 'Brewster' },
  birthDate: '1979-11-02',
  gender: 'female',
  mrn,
  phones: [phone],
});

async function patientsWithMrn(mrn: string): Promise<any[]> {
  const token = encodeURIComponent(`${SANDBOX_MRN_SYSTEM}|${mrn}`);
  const bundle = await http('GET', `${gw.fhirBase}/Patient?identifier=${token}`);
  return ((bundle.body.entry ?? []) as { resource: any }[]).map((e) => e.resource);
}

async function register(body: unknown, idempotencyKey: string, connection = 'sandbox'): Promise<any> {
  const res = await http('POST', `${gw.url}/v1/patients?connection=${connection}`, {
    body,
    headers: { ...asDesk(idempotencyKey), prefer: 'wait=10' },
  });
  expect([200, 201, 202]).toContain(res.status);
  const [final] = await waitForFinal(gw.url, [res.body.operationId as string]);
  return (await http('GET', `${gw.url}/v1/operations/${final.operationId as string}`, { headers: asDesk() }))
    .body;
}

it('registers one patient when the same MRN arrives twice under two Idempotency-Keys', async () => {
  const mrn = `MRN-${randomUUID().slice(0, 8)}`;
  const first = await register(registration(mrn, '978-555-0131'), `reg-${mrn}-a`);
  expect(first).toMatchObject({ status: 'succeeded', resourceRef: expect.stringMatching(/^Patient\//) });

  // Another agent takes the same caller on another call: another key, another phone even.
  const second = await register(registration(mrn, '978-555-0132'), `reg-${mrn}-b`);
  expect(second.operationId).not.toBe(first.operationId);
  expect(second.status).toBe('succeeded');
  expect(second.resourceRef).toBe(first.resourceRef);
  expect(second.patientId).toBe(first.patientId);
  // The receipt says the patient was already there, without a word of PHI.
  const notes = (second.history as { note?: string }[]).map((h) => h.note ?? '').join(' | ');
  expect(notes).toMatch(/already held a patient with this MRN/);
  expect(JSON.stringify(second)).not.toContain(mrn);
  expect(JSON.stringify(second)).not.toContain('Brewster');

  // The EHR holds one patient under the MRN: the first registration's, unchanged by the second.
  const held = await patientsWithMrn(mrn);
  expect(held).toHaveLength(1);
  expect(`Patient/${held[0].id as string}`).toBe(first.resourceRef);
  expect(held[0].meta.versionId).toBe('1');
  const model = (
    await http('GET', `${gw.url}/v1/patients/${first.patientId as string}`, { headers: asDesk() })
  ).body;
  expect(model.phones).toEqual(['+19785550131']);
});

it('creates nothing and asks an operator when the EHR already holds several patients with the MRN', async () => {
  const mrn = `MRN-${randomUUID().slice(0, 8)}`;
  for (const family of ['Twin', 'Twain']) {
    const res = await http('POST', `${gw.fhirBase}/Patient`, {
      body: {
        resourceType: 'Patient',
        identifier: [{ system: SANDBOX_MRN_SYSTEM, value: mrn }],
        name: [{ family, given: ['Sam'] }],
        birthDate: '1960-01-01',
      },
    });
    expect(res.status).toBe(201);
  }
  const receipt = await register(registration(mrn, '978-555-0133'), `reg-${mrn}`);
  expect(receipt.status).toBe('needs-review');
  expect(receipt.resourceRef).toBeNull();
  expect(receipt.review.reason).toMatch(/several patients with this MRN/);
  const refs = (receipt.review.fields as { current: unknown }[]).flatMap((f) => f.current as string[]);
  const held = await patientsWithMrn(mrn);
  expect(held).toHaveLength(2);
  expect(refs.sort()).toEqual(held.map((p) => `Patient/${p.id as string}`).sort());
  expect(JSON.stringify(receipt)).not.toContain(mrn);
});

it('searches by the MRN first where the EHR does not honour If-None-Exist', async () => {
  const mrn = `MRN-${randomUUID().slice(0, 8)}`;
  const first = await register(registration(mrn, '978-555-0135'), `reg-${mrn}-a`, 'plain');
  const second = await register(registration(mrn, '978-555-0136'), `reg-${mrn}-b`, 'plain');
  expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
  expect(second.resourceRef).toBe(first.resourceRef);
  expect((second.history as { note?: string }[]).map((h) => h.note ?? '').join(' | ')).toMatch(
    /already held a patient with this MRN/,
  );
  expect(await patientsWithMrn(mrn)).toHaveLength(1);

  const twins = `MRN-${randomUUID().slice(0, 8)}`;
  for (const family of ['Twin', 'Twain']) {
    await http('POST', `${gw.fhirBase}/Patient`, {
      body: {
        resourceType: 'Patient',
        identifier: [{ system: SANDBOX_MRN_SYSTEM, value: twins }],
        name: [{ family }],
      },
    });
  }
  const review = await register(registration(twins, '978-555-0137'), `reg-${twins}`, 'plain');
  expect(review.status).toBe('needs-review');
  expect(await patientsWithMrn(twins)).toHaveLength(2);
});

it('still registers a patient who gives no MRN, once per operation', async () => {
  const body = { ...registration('unused', '978-555-0134'), mrn: undefined };
  const receipt = await register(body, `reg-no-mrn-${randomUUID()}`);
  expect(receipt.status).toBe('succeeded');
  const bundle = await http(
    'GET',
    `${gw.fhirBase}/Patient?identifier=${encodeURIComponent(`urn:continuum:operation|${receipt.operationId as string}`)}`,
  );
  expect(bundle.body.entry).toHaveLength(1);
});

it('answers 201 to the registration that created the patient and 200 to the one that found it', async () => {
  const mrn = `MRN-${randomUUID().slice(0, 8)}`;
  const send = (key: string) =>
    http('POST', `${gw.url}/v1/patients`, {
      body: registration(mrn, '978-555-0133'),
      headers: { ...asDesk(key), prefer: 'wait=10' },
    });
  const created = await send(`reg-${mrn}-first`);
  expect(created.status).toBe(201);
  expect(created.body.status).toBe('succeeded');
  const found = await send(`reg-${mrn}-second`);
  // Succeeded, pointing at the same patient, but nothing was created: a desk shows "already registered".
  expect(found.status).toBe(200);
  expect(found.body).toMatchObject({ status: 'succeeded', resourceRef: created.body.resourceRef });
  expect(await patientsWithMrn(mrn)).toHaveLength(1);
});
