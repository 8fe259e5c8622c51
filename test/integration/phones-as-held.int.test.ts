/**
 * Phones as the EHR holds them. Real records hold typos, test numbers and half-written extensions:
 * an agent sees them as written, marked not dialable, and they never fail a read, a lookup or a
 * write. A phone correction keeps what the record says about the entry it corrects (home or mobile,
 * rank, period), and leaves email entries alone.
 */
import { Redis } from 'ioredis';
import { createRedisClientRegistry } from '../../adapters/redis/client-registry';
import type { ClientRegistry } from '../../src/domain/access';
import { createLogger } from '../../src/observability/logger';
import { http } from '../support/http';
import { captureLogs } from '../support/log-capture';
import { setFaults, waitForFinal } from '../support/pipeline';
import { TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(60000);

let gw: TestGateway;
let redis: Redis;
let registry: ClientRegistry;
let desk: string;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: { sandbox: { breaker: { failureThreshold: 3, probeIntervalMs: 300 } } },
    },
  });
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  registry = createRedisClientRegistry({
    redis,
    prefix: `{${gw.prefix}}`,
    logger: createLogger({ level: 'silent', destination: captureLogs().stream }),
  });
  ({ key: desk } = await registry.create({
    name: 'phones-desk',
    tenant: 'default',
    scopes: ['patients:lookup', 'patients:read', 'patients:write', 'operations:read'],
  }));
});
afterAll(async () => {
  await registry.close();
  redis.disconnect();
  await gw.stop();
});

const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
  authorization: `Bearer ${desk}`,
  ...extra,
});

/** A patient put straight into the EHR (the admin key speaks to the sandbox), as a record might be. */
async function seed(telecom: unknown[]): Promise<string> {
  const res = await http('POST', `${gw.fhirBase}/Patient`, {
    body: {
      resourceType: 'Patient',
      name: [{ family: 'Quill', given: ['Peter'] }],
      birthDate: '1980-04-04',
      telecom,
    },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function ehrPatient(id: string): Promise<any> {
  return (await http('GET', `${gw.fhirBase}/Patient/${id}`)).body;
}

async function correct(id: string, body: unknown, key: string): Promise<any> {
  const res = await http('PATCH', `${gw.url}/v1/patients/${id}`, {
    body,
    headers: headers({ 'idempotency-key': key, prefer: 'wait=10' }),
  });
  expect([200, 201, 202]).toContain(res.status);
  const [final] = await waitForFinal(gw.url, [res.body.operationId as string]);
  return final;
}

describe('numbers that are not valid', () => {
  const odd = [
    { system: 'phone', value: '(555) 010-0199', use: 'home' },
    { system: 'phone', value: '617-555-01 ext 4', use: 'work' },
  ];

  it('are shown as written and marked not dialable, in both shapes; valid ones stay E.164', async () => {
    const id = await seed([{ system: 'phone', value: '(617) 555-0142', use: 'mobile' }, ...odd]);
    const res = await http('GET', `${gw.url}/v1/patients/${id}`, { headers: headers() });
    expect(res.status).toBe(200);
    expect(res.body.phones).toEqual(['+16175550142']);
    expect(res.body.undialablePhones).toEqual(['(555) 010-0199', '617-555-01 ext 4']);

    const flat = await http('GET', `${gw.url}/v1/patients/${id}?shape=flat`, { headers: headers() });
    expect(flat.status).toBe(200);
    expect(flat.body).toMatchObject({
      phones1: '+16175550142',
      phones_count: '1',
      undialablePhones1: '(555) 010-0199',
      undialablePhones2: '617-555-01 ext 4',
      undialablePhones_count: '2',
    });
  });

  it('are shown when they are all the record holds, and the lookup still finds the patient by a good one', async () => {
    const only = await seed(odd);
    const res = await http('GET', `${gw.url}/v1/patients/${only}`, { headers: headers() });
    expect(res.status).toBe(200);
    expect(res.body.phones).toEqual([]);
    expect(res.body.undialablePhones).toHaveLength(2);

    const mixed = await seed([...odd, { system: 'phone', value: '+1 617 555 0143' }]);
    await http('GET', `${gw.url}/v1/patients/${mixed}`, { headers: headers() });
    const lookup = await http('GET', `${gw.url}/v1/patients/lookup?phone=6175550143`, { headers: headers() });
    expect(lookup.status).toBe(200);
    expect(lookup.body.matches.map((m: { id: string }) => m.id)).toContain(mixed);
  });

  it('never stop a correction of another field, and are left as they are', async () => {
    const id = await seed([...odd, { system: 'email', value: 'old@example.org' }]);
    const receipt = await correct(id, { email: 'new@example.org' }, `email-${id}`);
    expect(receipt.status).toBe('succeeded');
    const after = await ehrPatient(id);
    expect(after.telecom).toEqual([...odd, { system: 'email', value: 'new@example.org' }]);
    const model = (await http('GET', `${gw.url}/v1/patients/${id}`, { headers: headers() })).body;
    expect(model.email).toBe('new@example.org');
    expect(model.undialablePhones).toEqual(['(555) 010-0199', '617-555-01 ext 4']);
  });
});

describe('a phone correction', () => {
  it('waiting in the queue, shows the new numbers in place of all the old ones, undialable ones too', async () => {
    const id = await seed([
      { system: 'phone', value: '617-555-0180', use: 'home' },
      { system: 'phone', value: '(555) 010-0188', use: 'mobile' },
    ]);
    const live = await http('GET', `${gw.url}/v1/patients/${id}`, { headers: headers() });
    expect(live.body.undialablePhones).toEqual(['(555) 010-0188']);

    await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
    let operationId: string;
    try {
      const queued = await http('PATCH', `${gw.url}/v1/patients/${id}`, {
        body: { phones: ['+16175550181', '+16175550189'] },
        headers: headers({ 'idempotency-key': `queued-${id}` }),
      });
      expect(queued.status).toBe(202);
      operationId = queued.body.operationId as string;
      const read = await http('GET', `${gw.url}/v1/patients/${id}`, { headers: headers() });
      expect(read.status).toBe(200);
      expect(read.body.freshness.source).toBe('cache');
      expect(read.body.phones).toEqual(['+16175550181', '+16175550189']);
      expect(read.body.undialablePhones).toBeUndefined();
      expect(read.body.pending).toEqual([expect.objectContaining({ operationId, fields: ['phones'] })]);
    } finally {
      await setFaults(gw.url, { mode: 'up' });
    }
    const [receipt] = await waitForFinal(gw.url, [operationId]);
    expect(receipt.status).toBe('succeeded');
    // Applied, the corrections continue the home entry and the mobile one (the typo corrected).
    expect((await ehrPatient(id)).telecom).toEqual([
      { system: 'phone', value: '+16175550181', use: 'home' },
      { system: 'phone', value: '+16175550189', use: 'mobile' },
    ]);
  });

  it('keeps the use, rank and period of the entry it corrects, and leaves email untouched', async () => {
    const email = { system: 'email', value: 'peter@example.org', use: 'home' };
    const id = await seed([
      { system: 'phone', value: '(617) 555-0150', use: 'home', rank: 2 },
      email,
      { system: 'phone', value: '617-555-0151', use: 'mobile', rank: 1, period: { start: '2019-03-01' } },
    ]);
    // The agent keeps the home number and corrects the mobile one.
    const receipt = await correct(id, { phones: ['+16175550150', '+16175550159'] }, `phones-${id}`);
    expect(receipt.status).toBe('succeeded');

    const after = await ehrPatient(id);
    // The new numbers, in the agent's order, stand where the first phone stood; email keeps its entry.
    expect(after.telecom).toEqual([
      { system: 'phone', value: '+16175550150', use: 'home', rank: 2 },
      { system: 'phone', value: '+16175550159', use: 'mobile', rank: 1, period: { start: '2019-03-01' } },
      email,
    ]);
    // The old mobile number is gone: nothing still reaches it.
    expect(JSON.stringify(after.telecom)).not.toContain('0151');
  });

  it('lines new numbers up with the old by number first, then by position; a number beyond the old ones is new', async () => {
    const id = await seed([
      { system: 'phone', value: '617-555-0160', use: 'home' },
      { system: 'phone', value: '617-555-0161', use: 'work' },
    ]);
    // The work number first, then a correction of the home one, then a new one.
    const receipt = await correct(
      id,
      { phones: ['+16175550161', '+16175550169', '+16175550170'] },
      `phones-order-${id}`,
    );
    expect(receipt.status).toBe('succeeded');
    const after = await ehrPatient(id);
    expect(after.telecom).toEqual([
      { system: 'phone', value: '+16175550161', use: 'work' },
      { system: 'phone', value: '+16175550169', use: 'home' },
      { system: 'phone', value: '+16175550170' },
    ]);
  });
});
