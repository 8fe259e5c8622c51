/**
 * Bad input on every route: malformed and oddly encoded bodies, ids that do not decode or are dot
 * segments, huge, short and deeply nested bodies, bad headers and query values. Each must get a
 * 4xx answer in time: a 5xx says the gateway did not understand its own refusal, and a request
 * left unanswered holds a socket an attacker can multiply.
 */
import { gzipSync } from 'node:zlib';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';
import { rawRequest } from '../support/raw-http';

/** Longer than the server's request timeout below, so a timed-out request still counts as answered. */
const DEADLINE_MS = 5000;
const BODY_LIMIT = 64 * 1024;

type Method = 'GET' | 'POST' | 'PATCH';

/** Every route of src/http/routes/*.ts, `:id` standing for its path parameter. */
const ROUTES: readonly { readonly method: Method; readonly path: string; readonly id?: string }[] = [
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/readyz' },
  { method: 'GET', path: '/v1/patients/lookup?phone=6175550100' },
  { method: 'GET', path: '/v1/patients/:id', id: 'pat-0001' },
  { method: 'GET', path: '/v1/patients/:id/summary', id: 'pat-0001' },
  { method: 'GET', path: '/v1/patients/:id/appointments', id: 'pat-0001' },
  { method: 'POST', path: '/v1/patients' },
  { method: 'PATCH', path: '/v1/patients/:id', id: 'pat-0001' },
  { method: 'POST', path: '/v1/patients/:id/update', id: 'pat-0001' },
  { method: 'POST', path: '/v1/patients/verify' },
  { method: 'POST', path: '/v1/appointments' },
  { method: 'POST', path: '/v1/appointments/:id/cancel', id: 'appt-1' },
  { method: 'POST', path: '/v1/appointments/:id/confirm', id: 'appt-1' },
  { method: 'POST', path: '/v1/appointments/:id/reschedule', id: 'appt-1' },
  { method: 'POST', path: '/v1/appointments/:id/convert', id: 'appt-1' },
  { method: 'POST', path: '/v1/appointments/:id/hold', id: 'appt-1' },
  { method: 'GET', path: '/v1/slots' },
  { method: 'POST', path: '/v1/calls' },
  { method: 'POST', path: '/v1/callbacks' },
  { method: 'GET', path: '/v1/operations?status=failed' },
  { method: 'POST', path: '/v1/operations/replay' },
  { method: 'GET', path: '/v1/operations/replay/:id', id: 'run-1' },
  { method: 'POST', path: '/v1/operations/replay/:id/stop', id: 'run-1' },
  { method: 'GET', path: '/v1/operations/:id', id: 'op_0000000000aa' },
  { method: 'POST', path: '/v1/operations/:id/retry', id: 'op_0000000000aa' },
  { method: 'POST', path: '/v1/operations/:id/cancel', id: 'op_0000000000aa' },
  { method: 'GET', path: '/v1/status' },
  { method: 'GET', path: '/v1/events/subscribers' },
  { method: 'POST', path: '/v1/events/subscribers/:id/replay', id: 'nobody' },
  { method: 'POST', path: '/webhooks/ehr/:id', id: 'sandbox' },
];

interface Probe {
  readonly name: string;
  readonly method: Method;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

const BAD_IDS = {
  undecodable: '%ff',
  'encoded dot': '%2e',
  'encoded dot-dot': '%2e%2e',
  'dot-dot slash': '..%2f..%2fmetadata',
  'NUL byte': 'a%00b',
  'very long': 'a'.repeat(5000),
  'only dashes': '---',
};

const nestedForm = `a${'[b]'.repeat(40)}=1`;
const manyParams = Array.from({ length: 300 }, (_v, i) => `p${i}=1`).join('&');
const deepJson = `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`;

const BAD_BODIES: Readonly<Record<string, { headers: Record<string, string>; body: string | Buffer }>> = {
  'malformed JSON': { headers: { 'content-type': 'application/json' }, body: '{"phones": [' },
  'JSON string': { headers: { 'content-type': 'application/json' }, body: '"text"' },
  'JSON array': { headers: { 'content-type': 'application/json' }, body: '[1,2]' },
  'JSON null': { headers: { 'content-type': 'application/json' }, body: 'null' },
  'deep JSON': { headers: { 'content-type': 'application/json' }, body: deepJson },
  'gzip garbage': {
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: Buffer.from('this is not gzip at all'),
  },
  'deflate garbage': {
    headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' },
    body: Buffer.from('nor is this deflate'),
  },
  'unknown encoding': {
    headers: { 'content-type': 'application/json', 'content-encoding': 'x-squeeze' },
    body: '{}',
  },
  'gzip bomb': {
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync(Buffer.from(`{"a":"${'x'.repeat(BODY_LIMIT * 8)}"}`)),
  },
  'unsupported charset': { headers: { 'content-type': 'application/json; charset=utf-7' }, body: '{}' },
  'text/plain': { headers: { 'content-type': 'text/plain' }, body: 'phones=1' },
  'no content type': { headers: {}, body: '{}' },
  'huge JSON': {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ notes: 'x'.repeat(BODY_LIMIT * 2) }),
  },
  'nested form': { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: nestedForm },
  'too many form fields': {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: manyParams,
  },
  'prototype form': {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: '__proto__[admin]=1&constructor[prototype][admin]=1',
  },
  'undecodable form': { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=%ff%fe' },
};

const BAD_HEADERS: Readonly<Record<string, Record<string, string>>> = {
  'Prefer not a number': { prefer: 'wait=soon' },
  // No worker runs here, so a wait that parses is waited out in full: these must not parse as long ones.
  'Prefer exponent': { prefer: 'wait=1e309' },
  'Prefer negative': { prefer: 'wait=-5' },
  'If-Match garbage': { 'if-match': 'version 3' },
  'If-Match empty tag': { 'if-match': 'W/""' },
  'Idempotency-Key too long': { 'idempotency-key': 'k'.repeat(300) },
  'Idempotency-Key latin-1': { 'idempotency-key': '\u00e9t\u00e9' },
  'X-Contact-Id with spaces': { 'x-contact-id': 'call id with spaces' },
  'X-Request-Id garbage': { 'x-request-id': '<script>' },
};

const BAD_QUERIES = [
  'connection=nowhere',
  'limit=-1',
  'limit=1e9',
  'from=yesterday',
  'phone=%ff',
  'a=1&a=2&a=3',
];

/** A body each write route accepts, so header checks further down are reached. */
const VALID_BODY: Readonly<Record<string, string>> = {
  '/v1/patients/:id': '{"phones":["+16175550100"]}',
  '/v1/patients/:id/update': '{"phones":["+16175550100"]}',
  '/v1/calls': '{"startedAt":"2026-11-27T14:00:00Z","endedAt":"2026-11-27T14:07:00Z"}',
};

function probes(): Probe[] {
  const list: Probe[] = [];
  for (const route of ROUTES) {
    const at = (id: string | undefined): string =>
      route.id === undefined || id === undefined ? route.path : route.path.replace(':id', id);
    for (const [name, id] of Object.entries(BAD_IDS)) {
      if (route.id !== undefined) list.push({ name: `id ${name}`, method: route.method, path: at(id) });
    }
    const base = at(route.id);
    for (const query of BAD_QUERIES) {
      list.push({
        name: `query ${query}`,
        method: route.method,
        path: `${base}${base.includes('?') ? '&' : '?'}${query}`,
      });
    }
    if (route.method === 'GET') continue;
    for (const [name, { headers, body }] of Object.entries(BAD_BODIES)) {
      list.push({ name: `body ${name}`, method: route.method, path: base, headers, body });
    }
    for (const [name, headers] of Object.entries(BAD_HEADERS)) {
      list.push({
        name: `header ${name}`,
        method: route.method,
        path: base,
        headers: { 'content-type': 'application/json', ...headers },
        body: VALID_BODY[route.path] ?? '{}',
      });
    }
  }
  return list;
}

type Outcome = { readonly status: number } | { readonly hang: true };

async function send(api: InProcessApi, probe: Probe): Promise<Outcome> {
  let test = api
    .request()
    [probe.method === 'GET' ? 'get' : probe.method === 'POST' ? 'post' : 'patch'](probe.path)
    .timeout({ response: DEADLINE_MS, deadline: DEADLINE_MS });
  for (const [name, value] of Object.entries(probe.headers ?? {})) test = test.set(name, value);
  // supertest would send a Buffer under a JSON content type as JSON: these go out byte for byte.
  if (probe.body !== undefined) test = test.serialize((body: unknown) => body as string).send(probe.body);
  try {
    return { status: (await test).status };
  } catch (error) {
    if ((error as { timeout?: number }).timeout !== undefined) return { hang: true };
    throw error;
  }
}

async function sendRaw(
  api: InProcessApi,
  method: Method,
  path: string,
  headers?: Record<string, string>,
  body?: string,
): Promise<Outcome> {
  const outcome = await rawRequest(api.url, {
    method,
    path,
    deadlineMs: DEADLINE_MS,
    ...(headers ? { headers } : {}),
    ...(body !== undefined ? { body } : {}),
  });
  if ('hang' in outcome) return outcome;
  return { status: 'closed' in outcome ? 408 : outcome.status };
}

/** Runs `work` over `items` with at most `width` at a time, keeping the load on the 2 cores bounded. */
async function pooled<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

let api: InProcessApi;

beforeAll(async () => {
  api = await startInProcessApi({
    overrides: {
      server: { bodyLimitBytes: BODY_LIMIT, requestTimeoutMs: 1000, headersTimeoutMs: 1000 },
      // The rig serves the sandbox EHR itself; enabled, the connection needs no baseUrl.
      sandbox: { enabled: true },
      connections: {
        sandbox: { webhooks: { scheme: 'hmac-sha256', secret: 'battery-webhook-secret-0123456789' } },
      },
    },
  });
});
afterAll(async () => {
  await api.stop();
});

it('answers every bad input on every route with a 4xx, in time', async () => {
  const inProcess = probes();
  const idRoutes = ROUTES.filter((r) => r.id !== undefined);
  const raw: { name: string; run: () => Promise<Outcome> }[] = [
    ...idRoutes.flatMap((route) =>
      ['.', '..'].map((id) => ({
        name: `${route.method} ${route.path} raw id ${id}`,
        run: () => sendRaw(api, route.method, route.path.replace(':id', id)),
      })),
    ),
    ...ROUTES.filter((r) => r.method !== 'GET').map((route) => ({
      name: `${route.method} ${route.path} short body`,
      run: () =>
        sendRaw(
          api,
          route.method,
          route.path.replace(':id', route.id ?? ''),
          { 'content-type': 'application/json', 'content-length': '100' },
          '{"pho',
        ),
    })),
  ];

  const results = [
    ...(await pooled(inProcess, 8, async (probe) => ({
      name: `${probe.method} ${probe.path.slice(0, 80)} ${probe.name}`,
      outcome: await send(api, probe),
    }))),
    ...(await pooled(raw, 8, async (probe) => ({ name: probe.name, outcome: await probe.run() }))),
  ];

  const serverErrors = results.filter((r) => 'status' in r.outcome && r.outcome.status >= 500);
  const hangs = results.filter((r) => 'hang' in r.outcome);
  console.log(
    [
      `bad-input battery: 5xx ${serverErrors.length} of ${results.length}, hangs ${hangs.length}`,
      ...serverErrors.map((r) => `  5xx: ${r.name} -> ${'status' in r.outcome ? r.outcome.status : ''}`),
      ...hangs.map((r) => `  hang: ${r.name}`),
    ].join('\n'),
  );
  expect({ serverErrors: serverErrors.map((r) => r.name), hangs: hangs.map((r) => r.name) }).toEqual({
    serverErrors: [],
    hangs: [],
  });
  // Anything else would mean a probe never reached the gateway.
  expect(results.every((r) => 'status' in r.outcome && r.outcome.status >= 200)).toBe(true);
}, 120_000);
