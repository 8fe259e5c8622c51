/**
 * What the bad-input battery found, one promise at a time: inputs the libraries below the routes
 * refuse are 400s with our codes, dot-segment ids never reach the EHR, a short body is cut off in
 * about the configured time, and each refusal is logged in one line without a stack.
 */
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';
import { rawRequest } from '../support/raw-http';

const REQUEST_TIMEOUT_MS = 1000;
let api: InProcessApi;
/** supertest with the admin client's key on every request. */
const authed = () => request.agent(api.url).set('authorization', `Bearer ${api.key}`);

beforeAll(async () => {
  api = await startInProcessApi({
    overrides: { server: { requestTimeoutMs: REQUEST_TIMEOUT_MS, headersTimeoutMs: REQUEST_TIMEOUT_MS } },
  });
});
afterAll(async () => {
  await api.stop();
});

/** supertest would send a Buffer under a JSON content type as JSON: these go out byte for byte. */
const asIs = (body: unknown): string => body as string;

function problem(res: request.Response): { status: number; code: unknown; type: string | undefined } {
  return { status: res.status, code: (res.body as { code?: unknown }).code, type: res.type };
}

it('refuses a path that does not decode, a body that does not inflate and a form nested too deep with 400s', async () => {
  const undecodable = await authed().get('/v1/patients/%ff');
  expect(problem(undecodable)).toEqual({ status: 400, code: 'VALIDATION', type: 'application/problem+json' });

  const garbage = await authed()
    .patch('/v1/patients/pat-0001')
    .set('content-type', 'application/json')
    .set('content-encoding', 'gzip')
    .serialize(asIs)
    .send(Buffer.from('not gzip'));
  expect(problem(garbage)).toEqual({ status: 400, code: 'MALFORMED_BODY', type: 'application/problem+json' });

  const bomb = await authed()
    .patch('/v1/patients/pat-0001')
    .set('content-type', 'application/json')
    .set('content-encoding', 'gzip')
    .serialize(asIs)
    .send(gzipSync(`{"notes":"${'x'.repeat(2_000_000)}"}`));
  expect(problem(bomb)).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE', type: 'application/problem+json' });

  const nested = await authed()
    .post('/v1/patients/pat-0001/update')
    .type('form')
    .send(`phones${'[x]'.repeat(40)}=1`);
  expect(problem(nested)).toEqual({ status: 400, code: 'MALFORMED_BODY', type: 'application/problem+json' });
});

it('refuses the ids . and .. instead of reading the EHR base or its parent', async () => {
  const statuses: Record<string, number> = {};
  for (const path of ['/v1/patients/.', '/v1/patients/..', '/v1/patients/%2e%2e', '/v1/patients/./summary']) {
    const outcome = await rawRequest(api.url, { method: 'GET', path, deadlineMs: 5000 });
    statuses[path] = 'status' in outcome ? outcome.status : -1;
  }
  expect(statuses).toEqual({
    '/v1/patients/.': 400,
    '/v1/patients/..': 400,
    '/v1/patients/%2e%2e': 400,
    '/v1/patients/./summary': 400,
  });
  const booking = await authed()
    .post('/v1/appointments')
    .send({ patientId: '..', slotId: '.', mode: 'in-person' });
  expect(booking.status).toBe(400);
  expect((booking.body as { errors: { field: string }[] }).errors.map((e) => e.field).sort()).toEqual([
    'patientId',
    'slotId',
  ]);
});

it('cuts off a body shorter than its Content-Length after the configured request timeout', async () => {
  const started = Date.now();
  const outcome = await rawRequest(api.url, {
    method: 'PATCH',
    path: '/v1/patients/pat-0001',
    headers: { 'content-type': 'application/json', 'content-length': '100' },
    body: '{"pho',
    deadlineMs: 10_000,
  });
  const elapsed = Date.now() - started;
  expect('hang' in outcome).toBe(false);
  if ('status' in outcome) expect(outcome.status).toBe(408);
  // The server checks for expired requests once a second at most, so about one timeout more.
  expect(elapsed).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
  expect(elapsed).toBeLessThan(REQUEST_TIMEOUT_MS * 3 + 500);
});

it('logs a refusal in one line with its code and request id, and no stack', async () => {
  const requestId = `refusal-${Date.now()}`;
  const res = await authed()
    .post('/v1/calls')
    .set('x-request-id', requestId)
    .set('content-type', 'application/json')
    .send('{"notes": ');
  expect(res.status).toBe(400);
  const lines = api.logs.lines().filter((l) => l.requestId === requestId && l.msg === 'request refused');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ level: 30, code: 'MALFORMED_BODY', status: 400 });
  expect(lines[0]).not.toHaveProperty('err');
  expect(JSON.stringify(lines[0])).not.toMatch(/\bat \S+ \(|stack/);
});
