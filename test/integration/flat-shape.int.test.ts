/**
 * `?shape=flat` against the real gateway: reads come back as one level of strings for IVR flows;
 * problems, unknown shapes and writes do not.
 */
import { http } from '../support/http';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let gw: TestGateway;

beforeAll(async () => {
  // Live reads are judged slow (and answered from the cache) past staleAfterMs: 250 ms by default,
  // which a loaded test machine can exceed; this file checks shapes, not that judgement.
  gw = await startTestGateway({
    overrides: { sandbox: { enabled: true }, connections: { sandbox: { staleAfterMs: 3000 } } },
  });
});
afterAll(async () => {
  await gw.stop();
});

/** pat-0001's first phone, written as a caller would (the seed stores formats like "1-351-555-0153"). */
async function storedPhone(): Promise<{ spoken: string; e164: string }> {
  const patient = await http('GET', `${gw.fhirBase}/Patient/pat-0001`);
  const stored = (patient.body.telecom as { system: string; value: string }[]).find(
    (t) => t.system === 'phone',
  )!.value;
  const digits = stored.replace(/\D/g, '').replace(/^1(\d{10})$/, '$1');
  const spoken = `(${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}`;
  return { spoken, e164: `+1${digits}` };
}

function expectFlatStrings(body: unknown): void {
  expect(typeof body).toBe('object');
  expect(Array.isArray(body)).toBe(false);
  for (const value of Object.values(body as object)) expect(typeof value).toBe('string');
}

/** A valid US number that no seeded patient has. */
async function unusedNumber(): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const candidate = `+1212555${String(1000 + ((i * 137) % 9000)).padStart(4, '0')}`;
    const found = await http('GET', `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(candidate)}`);
    if (found.body.found === false) return candidate;
  }
  throw new Error('no unused number found');
}

describe('?shape=flat', () => {
  it('flattens a patient read into string values', async () => {
    const nested = await http('GET', `${gw.url}/v1/patients/pat-0001`);
    const res = await http('GET', `${gw.url}/v1/patients/pat-0001?shape=flat`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expectFlatStrings(res.body);
    expect(res.body.id).toBe('pat-0001');
    expect(res.body.name_family).toBe(nested.body.name.family);
    expect(res.body.name_given1).toBe(nested.body.name.given[0]);
    expect(res.body.phones_count).toBe(String(nested.body.phones.length));
    expect(res.body.phones1).toBe((await storedPhone()).e164);
    expect(res.body.freshness_source).toBe('ehr');
    expect(Buffer.byteLength(JSON.stringify(res.body))).toBeLessThan(32 * 1024);
  });

  it('flattens a lookup that finds the caller', async () => {
    const { spoken, e164 } = await storedPhone();
    const res = await http(
      'GET',
      `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(spoken)}&shape=flat`,
    );
    expect(res.status).toBe(200);
    expectFlatStrings(res.body);
    expect(res.body).toMatchObject({ found: 'true', phone: e164, matches1_id: 'pat-0001' });
    expect(Number(res.body.matches_count)).toBeGreaterThanOrEqual(1);
    expect(res.body.matches1_phones1).toEqual(expect.stringMatching(/^\+\d+$/));
    expect(res.body.truncated).toBeUndefined();
  });

  it('flattens a lookup that finds nobody into found: "false"', async () => {
    const number = await unusedNumber();
    const res = await http(
      'GET',
      `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(number)}&shape=flat`,
    );
    expect(res.status).toBe(200);
    expectFlatStrings(res.body);
    expect(res.body).toMatchObject({ found: 'false', matches_count: '0' });
    expect(res.body.matches1_id).toBeUndefined();
  });

  it('leaves a problem unflattened: an unknown patient is still a problem+json 404', async () => {
    const res = await http('GET', `${gw.url}/v1/patients/pat-9999999?shape=flat`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, code: 'NOT_FOUND', retryable: false });
    expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
    const plain = await http('GET', `${gw.url}/v1/patients/pat-9999999`);
    expect({ ...res.body, requestId: undefined }).toEqual({ ...plain.body, requestId: undefined });
  });

  it('refuses an unknown shape with a 400 VALIDATION problem naming the field', async () => {
    const res = await http('GET', `${gw.url}/v1/patients/pat-0001?shape=xml`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION', errors: [{ field: 'shape' }] });
    expect(res.body.detail).not.toContain('xml');
  });

  it('leaves writes alone, and flattens the receipt when it is read', async () => {
    const accepted = await http('PATCH', `${gw.url}/v1/patients/pat-0002?shape=flat`, {
      body: { preferredLanguage: 'es' },
    });
    expect(accepted.status).toBe(202);
    expect(accepted.body.attempts).toBe(0);
    expect(Array.isArray(accepted.body.history)).toBe(true);
    expect(accepted.body.history_count).toBeUndefined();

    const operationId = accepted.body.operationId as string;
    const receipt = await http('GET', `${gw.url}/v1/operations/${operationId}?shape=flat`);
    expect(receipt.status).toBe(200);
    expectFlatStrings(receipt.body);
    expect(receipt.body).toMatchObject({ operationId, kind: 'patient.update', patientId: 'pat-0002' });
    expect(Number(receipt.body.history_count)).toBeGreaterThanOrEqual(1);
    expect(receipt.body.history1_status).toBe('queued');
  });

  it('is not mistaken for a route parameter by reads with strict query rules', async () => {
    const res = await http('GET', `${gw.url}/v1/operations?status=failed&shape=flat`);
    expect(res.status).toBe(200);
    expectFlatStrings(res.body);
    expect(res.body).toMatchObject({ count: '0', operations_count: '0' });

    const status = await http('GET', `${gw.url}/v1/status?shape=flat`);
    expect(status.status).toBe(200);
    expectFlatStrings(status.body);
    // connections is keyed by name, an object rather than a list
    expect(status.body.connections_sandbox_breaker_state).toBe('closed');
  });
});
