/**
 * Request budgets per client, as clients see them through two gateway processes on one Redis: a
 * flooding client is refused with 429, Retry-After and the RateLimit-* headers while another client
 * of its tenant is served; both processes take from one budget; tenant and client overrides apply;
 * a client whose lookups find nobody for many distinct numbers is throttled and subscribers hear
 * `abuse.suspected`, while other clients' lookups still work; no number reaches a Redis key or a log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { createRedisClientRegistry } from '../../adapters/redis/client-registry';
import { SCOPES, type ClientRegistry } from '../../src/domain/access';
import { createLogger } from '../../src/observability/logger';
import { http, phoneDigits, type JsonResponse } from '../support/http';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

const PREFIX = `t-${randomUUID().slice(0, 12)}`;
const SECRET = `whsec_${Buffer.from('rate-limits-subscriber').toString('base64')}`;
/** Outside the sandbox seed's area codes: no patient has these. */
const unknownNumber = (i: number): string => `+1907555${String(1000 + i).padStart(4, '0')}`;

interface Client {
  readonly id: string;
  readonly key: string;
}
interface Received {
  readonly path: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

let redis: Redis;
let registry: ClientRegistry;
let server: Server;
const received: Received[] = [];
let gw1: TestGateway;
let gw2: TestGateway;
let knownPhone = '';
const c: Record<
  'admin' | 'flood' | 'desk' | 'shared' | 'north' | 'northBig' | 'tiny' | 'scanner' | 'known',
  Client
> = {} as never;

async function lookup(gw: TestGateway, client: Client, phone: string): Promise<JsonResponse> {
  return http('GET', `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(phone)}`, {
    headers: { authorization: `Bearer ${client.key}` },
  });
}

/** Lookups one after another until the first refusal: how many were served, and the refusal. */
async function untilRefused(
  gw: TestGateway,
  client: Client,
  max: number,
): Promise<{ served: JsonResponse[]; refused: JsonResponse | undefined }> {
  const served: JsonResponse[] = [];
  for (let i = 0; i < max; i += 1) {
    const res = await lookup(gw, client, knownPhone);
    if (res.status !== 200) return { served, refused: res };
    served.push(res);
  }
  return { served, refused: undefined };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<Received, 'path'>;
      received.push({ path: req.url ?? '', type: body.type, data: body.data });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  // The clients exist before the gateways start, so their ids can be named in the configuration.
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  registry = createRedisClientRegistry({
    redis,
    prefix: `{${PREFIX}}`,
    logger: createLogger({ level: 'silent' }),
  });
  const make = async (name: keyof typeof c, tenant = 'default'): Promise<void> => {
    const scopes = name === 'admin' ? SCOPES : (['patients:read'] as const);
    const { client, key } = await registry.create({ name: name.toLowerCase(), tenant, scopes });
    c[name] = { id: client.id, key };
  };
  await make('admin');
  for (const name of ['flood', 'desk', 'shared', 'tiny', 'scanner', 'known'] as const) await make(name);
  await make('north', 'north');
  await make('northBig', 'north');

  const overrides = {
    redis: { keyPrefix: PREFIX, requireDurability: false },
    // Every process sharing the Redis shares the record key: the numbers' keyed hashes agree.
    encryption: { key: randomBytes(32).toString('base64') },
    tenants: { default: { connections: ['sandbox'] }, north: { connections: ['sandbox'] } },
    limits: {
      budgets: { lookup: 10 },
      perTenant: { north: { lookup: 3 } },
      perClient: {
        [c.tiny.id]: { lookup: 2 },
        [c.northBig.id]: { lookup: 5 },
        [c.scanner.id]: { lookup: 500 },
      },
      scanning: { distinctMisses: 5, throttleSeconds: 120 },
    },
    events: {
      subscribers: [
        { kind: 'webhook', name: 'desk', url: `${base}/default`, secret: SECRET, tenant: 'default' },
        { kind: 'webhook', name: 'north-desk', url: `${base}/north`, secret: SECRET, tenant: 'north' },
      ],
    },
  };
  gw1 = await startTestGateway({ role: 'all', key: c.admin.key, overrides });
  gw2 = await startTestGateway({ role: 'api', key: c.admin.key, overrides });
  const patient = await http('GET', `${gw1.fhirBase}/Patient/pat-0001`);
  knownPhone = `+1${phoneDigits(patient.body as { telecom?: [] })[0] ?? ''}`;
  expect(knownPhone).toMatch(/^\+1\d{10}$/);
}, 60_000);

afterAll(async () => {
  await gw2.stop();
  await gw1.stop();
  await registry.close();
  redis.disconnect();
  await deletePrefix(PREFIX);
  await new Promise((resolve) => server.close(resolve));
});

it("refuses a flooding client with 429 and the RateLimit headers, and never another client's lookups", async () => {
  const flood = await untilRefused(gw1, c.flood, 30);
  expect(flood.served).toHaveLength(10);
  const first = flood.served[0]!;
  expect(first.body).toMatchObject({ found: true });
  expect(first.headers.get('ratelimit-limit')).toBe('10');
  expect(first.headers.get('ratelimit-remaining')).toBe('9');
  expect(first.headers.get('ratelimit-policy')).toBe('10;w=60');
  expect(Number(first.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
  expect(flood.served[9]!.headers.get('ratelimit-remaining')).toBe('0');

  const refused = flood.refused!;
  expect(refused.status).toBe(429);
  expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(refused.body).toMatchObject({
    code: 'TOO_MANY_REQUESTS',
    status: 429,
    retryable: true,
    budget: 'lookup',
  });
  const retryAfter = Number(refused.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(refused.headers.get('ratelimit-remaining')).toBe('0');
  expect(refused.headers.get('ratelimit-reset')).toBe(String(retryAfter));
  // The refusal says nothing about the patient.
  expect(JSON.stringify(refused.body)).not.toContain('found');

  // Its other budgets are its own: a read of the patient it found still works.
  const patientId = (first.body as { matches: { id: string }[] }).matches[0]!.id;
  const read = await http('GET', `${gw1.url}/v1/patients/${patientId}`, {
    headers: { authorization: `Bearer ${c.flood.key}` },
  });
  expect(read.status).toBe(200);
  expect(read.headers.get('ratelimit-limit')).toBe('12000');

  const desk = await Promise.all(Array.from({ length: 5 }, () => lookup(gw1, c.desk, knownPhone)));
  const deskRefused = desk.filter((r) => r.status !== 200).length;
  expect(deskRefused).toBe(0);
  // Unlimited routes carry no budget headers.
  const status = await http('GET', `${gw1.url}/healthz`, { anonymous: true });
  expect(status.headers.get('ratelimit-limit')).toBeNull();
  console.log(
    `flood: client A 429 after ${flood.served.length} (Retry-After ${retryAfter} s), client B ${deskRefused} of ${desk.length} refused`,
  );
});

it('takes from one budget in every process sharing the Redis', async () => {
  const onFirst = await untilRefused(gw1, c.shared, 5);
  const onSecond = await untilRefused(gw2, c.shared, 5);
  expect([onFirst.served.length, onSecond.served.length]).toEqual([5, 5]);
  expect(onSecond.served[4]!.headers.get('ratelimit-remaining')).toBe('0');
  const [again2, again1] = [await lookup(gw2, c.shared, knownPhone), await lookup(gw1, c.shared, knownPhone)];
  expect([again2.status, again1.status]).toEqual([429, 429]);
  console.log(
    `shared: ${onFirst.served.length} + ${onSecond.served.length} served by two processes, then ${again1.status} on both`,
  );
});

it("applies a tenant's budget to its clients and a client's own budget over it", async () => {
  const north = await untilRefused(gw1, c.north, 20);
  const northBig = await untilRefused(gw2, c.northBig, 20);
  const tiny = await untilRefused(gw1, c.tiny, 20);
  expect([north.served.length, northBig.served.length, tiny.served.length]).toEqual([3, 5, 2]);
  expect([north.refused?.status, northBig.refused?.status, tiny.refused?.status]).toEqual([429, 429, 429]);
  expect(north.refused?.headers.get('ratelimit-policy')).toBe('3;w=60');
  expect(tiny.refused?.headers.get('ratelimit-limit')).toBe('2');
  console.log(
    `overrides: tenant north ${north.served.length}, its client with its own budget ${northBig.served.length}, default-tenant client with its own budget ${tiny.served.length}, default 10`,
  );
});

it('throttles a client that looks up many unknown numbers and tells its tenant, while other clients still find patients', async () => {
  const numbers = Array.from({ length: 13 }, (_v, i) => unknownNumber(i));
  // Five distinct misses (one of them twice) is the threshold: nothing happens yet.
  for (const phone of [...numbers.slice(0, 5), numbers[0]!]) {
    const res = await lookup(gw1, c.scanner, phone);
    expect({ status: res.status, found: (res.body as { found?: boolean }).found }).toEqual({
      status: 200,
      found: false,
    });
  }
  const missesKey = `{${PREFIX}}:lookup-misses:${c.scanner.id}`;
  await waitFor(async () => ((await redis.zcard(missesKey)) === 5 ? true : undefined), {
    what: 'five distinct misses noted',
  });
  expect((await lookup(gw2, c.scanner, knownPhone)).status).toBe(200);

  // Then a burst through both processes: several cross the threshold at once; one episode starts.
  const burst = await Promise.all(
    numbers.slice(5).map((phone, i) => lookup(i % 2 === 0 ? gw1 : gw2, c.scanner, phone)),
  );
  expect(burst.filter((r) => r.status === 200).length).toBeGreaterThan(0);
  const refused = await waitFor(
    async () => {
      const res = await lookup(gw2, c.scanner, knownPhone);
      return res.status === 429 ? res : undefined;
    },
    { what: "the scanner's lookups refused" },
  );
  expect(refused.body).toMatchObject({ code: 'TOO_MANY_REQUESTS', budget: 'lookup' });
  const retryAfter = Number(refused.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(60);
  expect(retryAfter).toBeLessThanOrEqual(120);
  expect((await lookup(gw1, c.scanner, knownPhone)).status).toBe(429);

  // Another client of the same tenant finds the patient, on either process.
  const known = [await lookup(gw1, c.known, knownPhone), await lookup(gw2, c.known, knownPhone)];
  expect(known.map((r) => [r.status, (r.body as { found?: boolean }).found])).toEqual([
    [200, true],
    [200, true],
  ]);

  const event = await waitFor(() => Promise.resolve(received.find((r) => r.type === 'abuse.suspected')), {
    what: 'abuse.suspected delivered',
    timeoutMs: 30_000,
  });
  expect(event.path).toBe('/default');
  expect(event.data).toMatchObject({
    clientId: c.scanner.id,
    tenant: 'default',
    reason: 'lookup-scanning',
    throttleSeconds: 120,
  });
  expect(event.data.distinctMisses).toBeGreaterThan(5);
  expect(JSON.stringify(event.data)).not.toMatch(/907555/);
  const warnings = [gw1, gw2].flatMap((gw) =>
    gw.logs.lines().filter((l) => String(l.msg).includes('the client is scanning')),
  );
  expect(warnings).toHaveLength(1);
  expect(received.filter((r) => r.type === 'abuse.suspected')).toHaveLength(1);
  console.log(
    `scanning: throttled after ${String(event.data.distinctMisses)} distinct misses (threshold 5), Retry-After ${retryAfter} s, ${received.filter((r) => r.type === 'abuse.suspected').length} abuse.suspected to tenant default, 0 to north; another client 2 of 2 found`,
  );
});

it('keeps every looked-up number out of Redis keys, the miss log and the logs', async () => {
  const digits = [knownPhone.slice(2), ...Array.from({ length: 13 }, (_v, i) => unknownNumber(i).slice(2))];
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `{${PREFIX}}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  expect(keys.filter((k) => k.includes(':rate:lookup:')).length).toBeGreaterThan(0);
  const members = await redis.zrange(`{${PREFIX}}:lookup-misses:${c.scanner.id}`, '0', '-1');
  expect(members.length).toBeGreaterThan(5);
  const logs = gw1.logs.text() + gw2.logs.text();
  for (const number of digits) {
    expect({ number, inKeys: keys.some((k) => k.includes(number)) }).toEqual({ number, inKeys: false });
    expect({ number, inMisses: members.some((m) => m.includes(number)) }).toEqual({
      number,
      inMisses: false,
    });
    expect({ number, inLogs: logs.includes(number) }).toEqual({ number, inLogs: false });
  }
});
