/**
 * Bad input gets a clear 4xx problem naming the problem, never a 500, and nothing is queued.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { http } from '../support/http';
import { countKeys, TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let gw: TestGateway;
let patientId: string;

beforeAll(async () => {
  gw = await startTestGateway();
  const bundle = await http('GET', `${gw.fhirBase}/Patient?_count=1`);
  patientId = bundle.body.entry[0].resource.id as string;
});
afterAll(async () => {
  await gw.stop();
});

function expectProblem(
  res: { status: number; headers: Headers; body: any },
  status: number,
  code: string,
): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, title: expect.any(String), detail: expect.any(String) });
  expect(res.body.type).toMatch(/^https:\/\//);
  expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
  expect(typeof res.body.retryable).toBe('boolean');
}

describe('refused writes', () => {
  const patch = (body: { raw?: string; body?: unknown; headers?: Record<string, string> }, id = patientId) =>
    http('PATCH', `${gw.url}/v1/patients/${id}`, body);

  it('malformed JSON -> 400 MALFORMED_BODY', async () => {
    const res = await patch({ raw: '{"phones": ["617', headers: { 'content-type': 'application/json' } });
    expectProblem(res, 400, 'MALFORMED_BODY');
  });

  it('a field of the wrong type -> 400 VALIDATION naming the field', async () => {
    const res = await patch({ body: { phones: 6175550123 } });
    expectProblem(res, 400, 'VALIDATION');
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'phones' })]);
  });

  it('an unknown field -> 400 VALIDATION naming it', async () => {
    const res = await patch({ body: { phones: ['617-555-0100'], favouriteColour: 'blue' } });
    expectProblem(res, 400, 'VALIDATION');
    expect(res.body.errors).toContainEqual({
      field: 'favouriteColour',
      message: 'is not a field that can be changed here',
    });
  });

  it('an invalid phone number -> 400 VALIDATION naming the entry, without echoing it', async () => {
    const res = await patch({ body: { phones: ['617-555-0100', '555-12'] } });
    expectProblem(res, 400, 'VALIDATION');
    expect(res.body.errors).toEqual([{ field: 'phones[1]', message: 'is not a valid phone number' }]);
    expect(JSON.stringify(res.body)).not.toContain('555-12');
  });

  it('an unknown patient -> 404 NOT_FOUND', async () => {
    const res = await patch({ body: { phones: ['617-555-0100'] } }, 'no-such-patient-4711');
    expectProblem(res, 404, 'NOT_FOUND');
  });

  it('an id that cannot be a FHIR id -> 400', async () => {
    const res = await patch({ body: { phones: ['617-555-0100'] } }, 'bad$id');
    expectProblem(res, 400, 'VALIDATION');
  });

  it('a body in another media type -> 415', async () => {
    const res = await patch({ raw: 'phones=1', headers: { 'content-type': 'text/plain' } });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('an empty change -> 400', async () => {
    expectProblem(await patch({ body: {} }), 400, 'VALIDATION');
  });

  it('a lookup without a valid number -> 400; an unknown operation or route -> 404', async () => {
    expectProblem(await http('GET', `${gw.url}/v1/patients/lookup?phone=abc`), 400, 'VALIDATION');
    expectProblem(await http('GET', `${gw.url}/v1/patients/lookup`), 400, 'VALIDATION');
    expectProblem(await http('GET', `${gw.url}/v1/operations/op_doesnotexist0000`), 404, 'NOT_FOUND');
    expectProblem(await http('GET', `${gw.url}/v1/nothing-here`), 404, 'NOT_FOUND');
    expectProblem(await http('GET', `${gw.url}/v1/patients/no-such-patient-4711`), 404, 'NOT_FOUND');
  });

  it('none of the refused writes stored or enqueued anything', async () => {
    expect(await countKeys(gw.prefix, ':op:*')).toBe(0);
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('writes-sandbox', { connection, prefix: `{${gw.prefix}}` });
    try {
      const counts = await queue.getJobCounts();
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});

describe('idempotency', () => {
  it('the same key and body return the same operation; another body under that key is 422', async () => {
    const headers = { 'idempotency-key': `call-${Date.now()}-phone` };
    const body = { phones: ['+1 212 555 0142'] };
    const first = await http('PATCH', `${gw.url}/v1/patients/${patientId}`, { body, headers });
    const second = await http('PATCH', `${gw.url}/v1/patients/${patientId}`, {
      body: { phones: ['(212) 555-0142'] },
      headers,
    });
    expect(first.status).toBe(202);
    // Queued still (202), or already applied by the worker (200 with the final receipt): the same
    // operation either way, never a second one.
    expect([200, 202]).toContain(second.status);
    expect(second.body.operationId).toBe(first.body.operationId);
    expect(second.body.replayed).toBe(true);

    const other = await http('PATCH', `${gw.url}/v1/patients/${patientId}`, {
      body: { phones: ['+1 212 555 0143'] },
      headers,
    });
    expectProblem(other, 422, 'IDEMPOTENCY_MISMATCH');
  });

  it('without a key, a platform retry of the same request in the same call finds the first operation', async () => {
    const contact = `connect-contact-${Date.now()}`;
    const body = { email: 'ivr.retry@example.org' };
    const first = await http('PATCH', `${gw.url}/v1/patients/${patientId}`, {
      body,
      headers: { 'x-contact-id': contact },
    });
    const retry = await http('PATCH', `${gw.url}/v1/patients/${patientId}`, {
      body,
      headers: { 'x-contact-id': contact },
    });
    expect(retry.body.operationId).toBe(first.body.operationId);
    // A different change in the same call is a new operation, not a conflict.
    const other = await http('PATCH', `${gw.url}/v1/patients/${patientId}`, {
      body: { email: 'ivr.second@example.org' },
      headers: { 'x-contact-id': contact },
    });
    expect(other.status).toBe(202);
    expect(other.body.operationId).not.toBe(first.body.operationId);
    // Twilio Studio cannot set headers: the call id in the form body works the same way.
    const form = `email=studio%40example.org&contactId=CA${Date.now()}`;
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const a = await http('POST', `${gw.url}/v1/patients/${patientId}/update`, { raw: form, headers });
    const b = await http('POST', `${gw.url}/v1/patients/${patientId}/update`, { raw: form, headers });
    expect(a.status).toBe(202);
    expect(b.body.operationId).toBe(a.body.operationId);
  });

  it('ten concurrent requests with one key create one operation', async () => {
    const headers = { 'idempotency-key': `burst-${Date.now()}` };
    const body = { email: 'front.desk@example.org' };
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        http('PATCH', `${gw.url}/v1/patients/${patientId}`, { body, headers }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(202));
    expect(new Set(results.map((r) => r.body.operationId)).size).toBe(1);
  });
});
