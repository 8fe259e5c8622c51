/**
 * The adaptive drain limit as two worker processes share it: each limiter below stands for one
 * process (its own Redis connection), the limit and the permits live in Redis.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createDrainLimiter } from '../../adapters/redis/drain-limiter';
import {
  DEFAULT_DRAIN_LIMIT_SETTINGS,
  type DrainLimiter,
  type DrainLimitSettings,
  type DrainPermit,
} from '../../src/domain/drain-limit';
import { createLogger } from '../../src/observability/logger';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';
import { waitFor } from '../support/wait-for';

const prefix = `{dl-${randomUUID().slice(0, 8)}}`;
const connections: Redis[] = [];
const limiters: DrainLimiter[] = [];

function process(
  connection: string,
  settings: Partial<DrainLimitSettings> = {},
  leaseMs = 5_000,
): DrainLimiter {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  connections.push(redis);
  const limiter = createDrainLimiter({
    redis,
    prefix,
    connection,
    settings: {
      ...DEFAULT_DRAIN_LIMIT_SETTINGS,
      initialLimit: 3,
      maxLimit: 6,
      baselineWindows: 8,
      ...settings,
    },
    windowMs: 40,
    leaseMs,
    renewMs: Math.max(50, Math.floor(leaseMs / 4)),
    logger: createLogger({ level: 'silent' }),
  });
  limiters.push(limiter);
  return limiter;
}

afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  for (const redis of connections) redis.disconnect();
  await deletePrefix(prefix.slice(1, -1));
});

/** Runs `count` writes through the limiters in turn; returns the most that held a permit at once. */
async function drive(count: number, through: readonly DrainLimiter[], holdMs: number): Promise<number> {
  let holding = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: count }, async (_v, i) => {
      const limiter = through[i % through.length];
      if (limiter === undefined) throw new Error('no limiter');
      const permit = await limiter.acquire();
      holding++;
      most = Math.max(most, holding);
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      holding--;
      await permit.release();
    }),
  );
  return most;
}

describe('the adaptive drain limit shared through Redis', () => {
  it('never lets two processes together hold more permits than the limit, and loses no waiter', async () => {
    const a = process('shared');
    const b = process('shared');
    const most = await drive(40, [a, b], 15);
    expect(most).toBe(3);
    expect(await a.snapshot()).toMatchObject({ limit: 3, inFlight: 0 });
  });

  it('grows while the EHR answers near its baseline, and cuts when it throttles', async () => {
    const a = process('grows');
    const b = process('grows');
    // Writes keep every permit busy while the EHR answers in about 20 ms.
    const driving = { on: true };
    const load = (async () => {
      while (driving.on) await drive(12, [a, b], 5);
    })();
    const feed = setInterval(() => {
      for (const limiter of [a, b]) limiter.observe({ outcome: 'answered', latencyMs: 20 + Math.random() });
    }, 2);
    try {
      const grown = await waitFor(async () => ((await a.snapshot()).limit === 6 ? true : undefined), {
        what: 'the limit to reach its maximum',
      });
      expect(grown).toBe(true);
      expect((await b.snapshot()).baselineMs).toBeGreaterThanOrEqual(20);
    } finally {
      clearInterval(feed);
      driving.on = false;
      await load;
    }
    // One process meets a 429: the limit both share is cut, and stays cut while nothing is sent.
    b.observe({ outcome: 'throttled', latencyMs: 3 });
    const cut = await waitFor(async () => {
      const snapshot = await a.snapshot();
      return snapshot.limit < 6 ? snapshot : undefined;
    });
    expect(cut).toMatchObject({
      limit: 4,
      lastChange: expect.stringMatching(/^cut-throttled|idle$/) as unknown,
    });
  });

  it("holds every process's writes back until a Retry-After has passed", async () => {
    const a = process('retry-after');
    const b = process('retry-after');
    a.observe({ outcome: 'throttled', latencyMs: 2, retryAfterSeconds: 1 });
    const paused = await waitFor(async () => (await b.snapshot()).pausedUntil);
    const permit = await b.acquire();
    const grantedAt = Date.now();
    await permit.release();
    expect(grantedAt).toBeGreaterThanOrEqual(Date.parse(paused));
  });

  it('takes back the permits of a process that died holding them', async () => {
    const dying = process('lapse', {}, 400);
    const held: DrainPermit[] = [];
    for (let i = 0; i < 3; i++) held.push(await dying.acquire());
    // It never gives them back: its process is gone.
    await dying.close();
    const survivor = process('lapse');
    const permits = await Promise.all([survivor.acquire(), survivor.acquire(), survivor.acquire()]);
    await Promise.all(permits.map((p) => p.release()));
    expect(await survivor.snapshot()).toMatchObject({ inFlight: 0 });
  });

  it('serves the most urgent waiter of a process first', async () => {
    const a = process('urgent-first', { initialLimit: 1, minLimit: 1 });
    const first = await a.acquire(2);
    const order: string[] = [];
    const waiting = [
      a.acquire(2).then(async (p) => {
        order.push('routine-1');
        await p.release();
      }),
      a.acquire(2).then(async (p) => {
        order.push('routine-2');
        await p.release();
      }),
      a.acquire(1).then(async (p) => {
        order.push('urgent');
        await p.release();
      }),
    ];
    await first.release();
    await Promise.all(waiting);
    expect(order).toEqual(['urgent', 'routine-1', 'routine-2']);
  });

  it('keeps the permits of a live process for as long as it holds them, past the lease', async () => {
    const holder = process('renewed', {}, 300);
    const other = process('renewed', {}, 300);
    const [one, ...rest] = await Promise.all([holder.acquire(), holder.acquire(), holder.acquire()]);
    let granted = false;
    const waiting = other.acquire().then((p) => {
      granted = true;
      return p;
    });
    // Three leases' worth of time: renewed, the permits are still held and nobody else gets one.
    const until = Date.now() + 900;
    await waitFor(() => Promise.resolve(Date.now() > until ? true : undefined), { intervalMs: 100 });
    expect(granted).toBe(false);
    expect(await other.snapshot()).toMatchObject({ inFlight: 3 });
    await one.release();
    await (await waiting).release();
    await Promise.all(rest.map((p) => p.release()));
  });

  it('hands back the writes still waiting when it closes, and keeps none of their permits', async () => {
    const a = process('closing', { initialLimit: 1 });
    const first = await a.acquire();
    const waiters = [a.acquire(), a.acquire()];
    await a.close();
    for (const waiter of waiters) await expect(waiter).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
    await first.release();
    expect(await a.snapshot()).toMatchObject({ inFlight: 0 });
  });

  it("caps an EHR's Retry-After at a minute, and an outage ends the pause", async () => {
    const a = process('long-retry-after');
    a.observe({ outcome: 'throttled', latencyMs: 2, retryAfterSeconds: 3600 });
    const paused = await waitFor(async () => (await a.snapshot()).pausedUntil);
    expect(Date.parse(paused)).toBeLessThanOrEqual(Date.now() + 60_000);
    // The throttle is judged in its window, then the breaker opens: once the EHR answers the
    // probe, the drain restarts at once, and no later window brings the pause back.
    await waitFor(async () => ((await a.snapshot()).lastChange === 'cut-throttled' ? true : undefined));
    await a.restart();
    expect(await a.snapshot()).toMatchObject({ pausedUntil: undefined });
    const later = Date.now() + 300;
    await waitFor(() => Promise.resolve(Date.now() > later ? true : undefined), { intervalMs: 50 });
    expect(await a.snapshot()).toMatchObject({ pausedUntil: undefined });
    const permit = await a.acquire();
    await permit.release();
  });
});
