/**
 * Headers a browser and a cache act on: no answer of the API is stored, framed or sniffed, and no
 * web page may read one unless its origin is on the configured allow-list.
 */
import type request from 'supertest';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';

const DESK = 'https://desk.example.org';
let plain: InProcessApi;
let listed: InProcessApi;

beforeAll(async () => {
  plain = await startInProcessApi();
  listed = await startInProcessApi({ overrides: { server: { cors: { allowOrigins: [DESK] } } } });
});
afterAll(async () => {
  await Promise.all([plain.stop(), listed.stop()]);
});

const corsHeaders = (res: request.Response): string[] =>
  Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));

it('marks every API answer no-store, and sends the security headers on every answer', async () => {
  const answers = [
    await plain.request().get('/v1/patients/pat-0001'),
    await plain.request().get('/v1/patients/lookup?phone=6175550100'),
    await plain.request().get('/v1/nothing-here'),
    await plain.request().post('/v1/calls').send({}),
  ];
  expect(answers.map((r) => r.status)).toEqual([200, 200, 404, 400]);
  for (const res of [...answers, await plain.request().get('/healthz')]) {
    expect(res.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      'referrer-policy': 'no-referrer',
    });
  }
  expect(answers.map((r) => r.headers['cache-control'])).toEqual(Array(4).fill('no-store'));
});

it('sends no CORS header at all when no origin is allowed', async () => {
  const read = await plain.request().get('/v1/patients/pat-0001').set('origin', DESK);
  expect(read.status).toBe(200);
  expect(corsHeaders(read)).toEqual([]);
  const preflight = await plain
    .request()
    .options('/v1/patients/pat-0001')
    .set('origin', DESK)
    .set('access-control-request-method', 'PATCH');
  // express answers OPTIONS itself (an Allow header); without CORS headers a browser stops there.
  expect(corsHeaders(preflight)).toEqual([]);
});

it('answers CORS and its preflight for a listed origin only', async () => {
  const read = await listed.request().get('/v1/patients/pat-0001').set('origin', DESK);
  expect(read.headers['access-control-allow-origin']).toBe(DESK);
  expect(read.headers.vary).toMatch(/Origin/);
  const preflight = await listed
    .request()
    .options('/v1/patients/pat-0001')
    .set('origin', DESK)
    .set('access-control-request-method', 'PATCH')
    .set('access-control-request-headers', 'content-type, idempotency-key');
  expect(preflight.status).toBe(204);
  expect(preflight.headers['access-control-allow-origin']).toBe(DESK);
  expect(preflight.headers['access-control-allow-methods']).toContain('PATCH');
  expect(preflight.headers['access-control-allow-headers']).toContain('Idempotency-Key');

  const stranger = 'https://evil.example.net';
  const foreignRead = await listed.request().get('/v1/patients/pat-0001').set('origin', stranger);
  expect(corsHeaders(foreignRead)).toEqual([]);
  const foreignPreflight = await listed
    .request()
    .options('/v1/patients/pat-0001')
    .set('origin', stranger)
    .set('access-control-request-method', 'PATCH');
  expect(corsHeaders(foreignPreflight)).toEqual([]);
});
