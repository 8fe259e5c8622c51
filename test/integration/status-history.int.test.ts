/**
 * The status history behind the console's chart: the API process samples each connection's
 * pipeline every interval into Redis, GET /v1/status/history reads it back for the caller's own
 * connections only (another tenant's answers 404, like one that does not exist), and the stored
 * history stays bounded: one sample per interval however many processes sample, nothing older
 * than the hour, never more than the count bound.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisStatusHistory } from '../../adapters/redis/status-history';
import type { StatusSample } from '../../src/domain/status-history';
import { http } from '../support/http';
import { scopedClient } from '../support/scoped-client';
import { countKeys, deletePrefix, TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60000);

const INTERVAL_MS = 1000;
let gw: TestGateway;
let south: Record<string, string>;
let readerOnly: Record<string, string>;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 20 },
      connections: { sandbox: {}, other: {} },
      defaultConnection: 'sandbox',
      tenants: { default: { connections: ['sandbox'] }, south: { connections: ['other'] } },
      statusHistory: { intervalMs: INTERVAL_MS },
    },
  });
  south = await scopedClient(gw.prefix, 'south-desk', ['operations:read'], 'south');
  readerOnly = await scopedClient(gw.prefix, 'reader', ['operations:read']);
});
afterAll(async () => {
  await gw.stop();
});

it('samples every connection each interval and answers the caller its own connection', async () => {
  const history = await waitFor(
    async () => {
      const res = await http('GET', `${gw.url}/v1/status/history?connection=sandbox&minutes=5`, {
        headers: readerOnly,
      });
      return res.status === 200 && res.body.samples.length >= 3 ? res.body : undefined;
    },
    { timeoutMs: 15000, what: 'three samples of the sandbox connection' },
  );
  expect(history).toMatchObject({ connection: 'sandbox', intervalMs: INTERVAL_MS });
  const samples = history.samples as StatusSample[];
  for (const sample of samples) {
    expect(sample).toEqual({
      at: expect.any(Number),
      backlog: 0,
      failed: 0,
      needsReview: 0,
      drainPerSecond: 0,
      breaker: 'closed',
    });
    expect(sample.at % INTERVAL_MS).toBe(0);
  }
  const times = samples.map((s) => s.at);
  expect(times).toEqual([...new Set(times)].sort((a, b) => a - b));

  // Without a connection: the tenant's default.
  const byDefault = await http('GET', `${gw.url}/v1/status/history`, { headers: readerOnly });
  expect(byDefault.status).toBe(200);
  expect(byDefault.body.connection).toBe('sandbox');
});

it("answers another tenant's connection like one that does not exist", async () => {
  const theirs = await http('GET', `${gw.url}/v1/status/history?connection=sandbox`, { headers: south });
  const none = await http('GET', `${gw.url}/v1/status/history?connection=nowhere`, { headers: south });
  expect(theirs.status).toBe(404);
  expect(theirs.body.code).toBe('NOT_FOUND');
  expect(none.status).toBe(404);
  expect(theirs.body.detail).toBe(none.body.detail.replace('nowhere', 'sandbox'));
  expect(JSON.stringify(theirs.body)).not.toContain('samples');

  const own = await waitFor(
    async () => {
      const res = await http('GET', `${gw.url}/v1/status/history`, { headers: south });
      return res.status === 200 && res.body.samples.length > 0 ? res.body : undefined;
    },
    { what: "a sample of south's connection" },
  );
  expect(own.connection).toBe('other');
});

it('refuses a span it does not keep and a filter it does not know', async () => {
  for (const query of ['minutes=0', 'minutes=61', 'minutes=soon', 'patient=pat-0001']) {
    const res = await http('GET', `${gw.url}/v1/status/history?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION');
  }
});

it('keeps one sample per interval and stays bounded by age and count', async () => {
  const prefix = `t-${randomUUID().slice(0, 12)}`;
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  const store = createRedisStatusHistory({ redis, prefix: `{${prefix}}` });
  const sample = (at: number, backlog: number): StatusSample => ({
    at,
    backlog,
    failed: 0,
    needsReview: 0,
    drainPerSecond: 0,
    breaker: 'closed',
  });
  try {
    const now = Date.now();
    const bounds = { keepMs: 60_000, maxSamples: 10 };
    // Two processes sampling the same interval: the first one's sample is kept.
    expect(await store.record('sandbox', sample(now, 1), bounds)).toBe(true);
    expect(await store.record('sandbox', sample(now, 2), bounds)).toBe(false);
    expect((await store.read('sandbox', 0)).map((s) => s.backlog)).toEqual([1]);

    // Thirty intervals, one second apart: only the newest ten stay.
    for (let i = 1; i <= 30; i++) await store.record('sandbox', sample(now + i * 1000, i), bounds);
    const kept = await store.read('sandbox', 0);
    expect(kept.map((s) => s.backlog)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);

    // A sample past the keep window drops everything older than the window before it.
    await store.record('sandbox', sample(now + 30_000 + 65_000, 99), bounds);
    expect((await store.read('sandbox', 0)).map((s) => s.backlog)).toEqual([99]);
    // Read from a time: only what was taken since.
    expect(await store.read('sandbox', now + 200_000)).toEqual([]);
    // One key per connection, expiring when nobody samples.
    expect(await countKeys(prefix)).toBe(1);
    const ttl = await redis.pttl(`{${prefix}}:status-history:sandbox`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  } finally {
    redis.disconnect();
    await deletePrefix(prefix);
  }
});
