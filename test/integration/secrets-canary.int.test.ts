/**
 * Credentials never reach a log line, an answer or Redis. Canary API keys, Basic credentials and
 * access tokens (valid, wrong, revoked, tampered) are sent through success and failure paths: a
 * served read, 401, 403, 404, malformed headers, the token endpoint refusing a secret, a revoked
 * key, an EHR outage (503) and a key put where it does not belong (query string, body). Afterwards
 * no canary may appear in the API's or the use cases' logs, in any answer (headers included), or
 * anywhere under the gateway's Redis prefix: key names, values, or their DUMP serialisation.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { sandboxCredential } from '../../src/wiring/sandbox-credential';
import { accessToken, basicHeader, createClient, type TestClient } from '../support/client-credentials';
import { http } from '../support/http';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';
import { TEST_REDIS_URL } from '../support/redis';

let api: InProcessApi;
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
let reader: TestClient;
let revoked: TestClient;
let token: string;
let revokedToken: string;
/** Every secret this test sends or was given, by what it is. */
const canaries = new Map<string, string>();
/** Every answer the gateway gave, as text (status, headers, body), by what was asked. */
const answers: { readonly what: string; readonly text: string }[] = [];

const b64 = (text: string): string => Buffer.from(text).toString('base64');
/** A string shaped like an API key (`ck_` + 43 base64url characters) that is no client's. */
const wrongKey = (): string => `ck_CANARY${randomBytes(30).toString('base64url')}`.slice(0, 46);

type Method = 'GET' | 'POST';

async function ask(
  what: string,
  method: Method,
  path: string,
  headers: Record<string, string>,
  body?: string | object,
): Promise<request.Response> {
  const agent = request(api.app);
  const started = method === 'GET' ? agent.get(path) : agent.post(path);
  started.set(headers);
  const res = await (body === undefined ? started : started.send(body));
  answers.push({ what, text: `${res.status} ${JSON.stringify(res.headers)} ${res.text}` });
  return res;
}

beforeAll(async () => {
  api = await startInProcessApi();
  reader = await createClient(api.access, 'canary-reader', 'default', ['patients:read', 'operations:read']);
  revoked = await createClient(api.access, 'canary-revoked', 'default', ['patients:read']);
  token = await accessToken(api.app, reader);
  revokedToken = await accessToken(api.app, revoked);
  await api.access.registry.revoke(revoked.id);
  const [header = '', payload = '', signature = ''] = token.split('.');
  const tampered = `${header}.${payload}.${signature.slice(0, -4)}AAAA`;
  for (const [name, value] of Object.entries({
    'admin key': api.key,
    // The credential the gateway's own connection presents to the sandbox EHR on every call.
    'sandbox connection credential': sandboxCredential(api.rig.config),
    'reader key': reader.key,
    'reader Basic credentials': b64(`${reader.id}:${reader.key}`),
    'reader key as base64': b64(reader.key),
    'reader token': token,
    'reader token signature': signature,
    'tampered token': tampered,
    'revoked key': revoked.key,
    'revoked token': revokedToken,
    'wrong key': wrongKey(),
    'wrong key for Basic': wrongKey(),
    'wrong token-endpoint secret': wrongKey(),
    'free-text wrong key': `canary-not-a-key-${randomUUID()}`,
  })) {
    canaries.set(name, value);
  }
}, 60_000);

afterAll(async () => {
  await api.stop();
  redis.disconnect();
});

const canary = (name: string): string => {
  const value = canaries.get(name);
  if (value === undefined) throw new Error(`no canary ${name}`);
  return value;
};

it('sends canary credentials through served, refused and failing requests', async () => {
  const key = canary('reader key');
  const asReader = { authorization: `Bearer ${key}` };
  const statuses: Record<string, number> = {};
  const note = (what: string, res: request.Response): void => {
    statuses[what] = res.status;
  };

  // Served: every way of presenting the key, and the token.
  note('read (Bearer key)', await ask('read (Bearer key)', 'GET', '/v1/patients/pat-0001', asReader));
  note(
    'read (X-API-Key)',
    await ask('read (X-API-Key)', 'GET', '/v1/patients/pat-0001', { 'x-api-key': key }),
  );
  note(
    'read (Basic)',
    await ask('read (Basic)', 'GET', '/v1/patients/pat-0001', { authorization: basicHeader(reader.id, key) }),
  );
  note(
    'read (token)',
    await ask('read (token)', 'GET', '/v1/patients/pat-0001/summary', { authorization: `Bearer ${token}` }),
  );

  // 401: wrong, revoked, tampered.
  for (const [what, headers] of [
    ['wrong key (Bearer)', { authorization: `Bearer ${canary('wrong key')}` }],
    ['wrong key (X-API-Key)', { 'x-api-key': canary('wrong key') }],
    ['free-text wrong key', { authorization: `Bearer ${canary('free-text wrong key')}` }],
    ['wrong Basic secret', { authorization: basicHeader(reader.id, canary('wrong key for Basic')) }],
    ['revoked key', { authorization: `Bearer ${canary('revoked key')}` }],
    ['revoked token', { authorization: `Bearer ${canary('revoked token')}` }],
    ['tampered token', { authorization: `Bearer ${canary('tampered token')}` }],
    ['token as X-API-Key', { 'x-api-key': token }],
  ] as const) {
    note(what, await ask(what, 'GET', '/v1/patients/pat-0001', headers));
  }

  // Malformed: the key inside headers the gateway cannot read.
  for (const [what, headers] of [
    ['Basic without colon', { authorization: `Basic ${b64(key)}` }],
    ['Basic not base64', { authorization: `Basic ${key}!` }],
    ['Bearer with spaces', { authorization: `Bearer ${key} ${key}` }],
    ['unknown scheme', { authorization: `Token ${key}` }],
    ['both headers', { authorization: `Bearer ${key}`, 'x-api-key': key }],
  ] as const) {
    note(what, await ask(what, 'GET', '/v1/patients/pat-0001', headers));
  }

  // 403 and 404 with a valid key and token.
  const booking = { patientId: 'pat-0001', slotId: 'slot-1' };
  note('403 (key)', await ask('403 (key)', 'POST', '/v1/appointments', asReader, booking));
  note(
    '403 (token)',
    await ask('403 (token)', 'POST', '/v1/appointments', { authorization: `Bearer ${token}` }, booking),
  );
  note('404 operation', await ask('404 operation', 'GET', '/v1/operations/op_0000000000000000', asReader));
  note('404 route', await ask('404 route', 'GET', '/v1/no-such-thing', asReader));

  // The key where it does not belong: a query string, a body field.
  note(
    'key in the query string',
    await ask(
      'key in the query string',
      'GET',
      `/v1/patients/pat-0001?api_key=${encodeURIComponent(key)}`,
      {},
    ),
  );
  note(
    'key in a body field',
    await ask('key in a body field', 'POST', '/v1/patients/verify', asReader, {
      birthDate: '1980-02-29',
      family: 'Nobody',
      apiKey: key,
    }),
  );

  // The token endpoint refusing secrets, in both client authentication methods.
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const wrongSecret = canary('wrong token-endpoint secret');
  note(
    'token: wrong Basic secret',
    await ask(
      'token: wrong Basic secret',
      'POST',
      '/oauth/token',
      { ...form, authorization: basicHeader(reader.id, wrongSecret) },
      'grant_type=client_credentials',
    ),
  );
  note(
    'token: wrong posted secret',
    await ask(
      'token: wrong posted secret',
      'POST',
      '/oauth/token',
      form,
      `grant_type=client_credentials&client_id=${reader.id}&client_secret=${wrongSecret}`,
    ),
  );
  note(
    'token: revoked client',
    await ask(
      'token: revoked client',
      'POST',
      '/oauth/token',
      { ...form, authorization: basicHeader(revoked.id, revoked.key) },
      'grant_type=client_credentials',
    ),
  );
  note(
    'token: right secret, scope not granted',
    await ask(
      'token: right secret, scope not granted',
      'POST',
      '/oauth/token',
      form,
      `grant_type=client_credentials&client_id=${reader.id}&client_secret=${key}&scope=operations%3Aadmin`,
    ),
  );
  note(
    'token: secret sent twice',
    await ask(
      'token: secret sent twice',
      'POST',
      '/oauth/token',
      { ...form, authorization: basicHeader(reader.id, key) },
      `grant_type=client_credentials&client_secret=${key}`,
    ),
  );

  // The EHR down: reads of patients never cached fail with 503, a write is still accepted.
  const faults = `${new URL(api.rig.fhirBase).origin}/sandbox/admin/faults`;
  expect(
    (await http('POST', faults, { body: { mode: 'down', kind: 'refuse' }, anonymous: true })).status,
  ).toBe(200);
  try {
    note('EHR down (key)', await ask('EHR down (key)', 'GET', '/v1/patients/pat-0042', asReader));
    note(
      'EHR down (token)',
      await ask('EHR down (token)', 'GET', '/v1/patients/pat-0043/summary', {
        authorization: `Bearer ${token}`,
      }),
    );
  } finally {
    await http('DELETE', faults, { anonymous: true });
  }

  // Each path did what it is here to exercise.
  expect(statuses).toEqual({
    'read (Bearer key)': 200,
    'read (X-API-Key)': 200,
    'read (Basic)': 200,
    'read (token)': 200,
    'wrong key (Bearer)': 401,
    'wrong key (X-API-Key)': 401,
    'free-text wrong key': 401,
    'wrong Basic secret': 401,
    'revoked key': 401,
    'revoked token': 401,
    'tampered token': 401,
    'token as X-API-Key': 401,
    'Basic without colon': 401,
    'Basic not base64': 401,
    'Bearer with spaces': 401,
    'unknown scheme': 401,
    'both headers': 401,
    '403 (key)': 403,
    '403 (token)': 403,
    '404 operation': 404,
    '404 route': 404,
    'key in the query string': 401,
    'key in a body field': 400,
    'token: wrong Basic secret': 401,
    'token: wrong posted secret': 401,
    'token: revoked client': 401,
    'token: right secret, scope not granted': 400,
    'token: secret sent twice': 401,
    'EHR down (key)': 503,
    'EHR down (token)': 503,
  });
});

it('puts none of the canaries in a log line', () => {
  const logs = { api: api.logs.text(), 'use cases': api.rig.logs.text() };
  // The requests above were logged (by client id and status), so there was something to leak into.
  expect(logs.api).toContain(reader.id);
  expect(logs.api).toContain('"status":401');
  expect(logs.api).toContain('"status":503');
  const found = Object.entries(logs).flatMap(([where, text]) =>
    [...canaries].filter(([, value]) => text.includes(value)).map(([name]) => `${name} in the ${where} log`),
  );
  expect(found).toEqual([]);
});

it('puts none of the canaries in an answer', () => {
  expect(answers.length).toBeGreaterThanOrEqual(30);
  const found = answers.flatMap(({ what, text }) =>
    [...canaries]
      .filter(([, value]) => text.includes(value))
      .map(([name]) => `${name} in the answer to ${what}`),
  );
  expect(found).toEqual([]);
});

it('keeps every key and token out of Redis: key names, values and their serialisation', async () => {
  const names: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${api.rig.prefix}}*`, 'COUNT', 1000);
    cursor = next;
    names.push(...keys);
  } while (cursor !== '0');
  // The registry and the writes above are there, so there was something to leak into.
  expect(names.some((n) => n.includes(':clients:record:'))).toBe(true);
  expect(names.length).toBeGreaterThan(10);

  const found: string[] = [];
  for (const name of names) {
    const texts = [name, ...(await contentOf(name))];
    // Null for a key that expired since the scan.
    const dumped = (await redis.dumpBuffer(name)) as Buffer | null;
    if (dumped !== null) texts.push(dumped.toString('latin1'));
    for (const [canaryName, value] of canaries) {
      if (texts.some((t) => t.includes(value))) found.push(`${canaryName} in ${name}`);
    }
  }
  expect(found).toEqual([]);
});

/** Every string a key holds, whatever its type. */
async function contentOf(name: string): Promise<string[]> {
  switch (await redis.type(name)) {
    case 'string':
      return [(await redis.getBuffer(name))?.toString('latin1') ?? ''];
    case 'hash':
      return Object.entries(await redis.hgetall(name)).flat();
    case 'set':
      return redis.smembers(name);
    case 'zset':
      return redis.zrange(name, '0', '-1');
    case 'list':
      return redis.lrange(name, 0, -1);
    case 'stream':
      return (await redis.xrange(name, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
    default:
      return [];
  }
}
