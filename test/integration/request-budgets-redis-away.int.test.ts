/**
 * Budgets while Redis is away: a Redis that stops answering (frozen) or is gone (killed) does not
 * refuse requests; each process counts in memory with the same budget until Redis is back, and
 * still refuses a client that spends it.
 */
import { Redis } from 'ioredis';
import { createRedisRequestBudgets } from '../../adapters/redis/request-budgets';
import type { RateLimiter } from '../../src/domain/rate-limits';
import { startOwnRedis, type OwnRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

let own: OwnRedis;
let client: Redis;
let budgets: RateLimiter;
const caller = (clientId: string) => ({ clientId, tenant: 'default' });

beforeAll(async () => {
  own = await startOwnRedis([]);
  client = new Redis(own.url, { maxRetriesPerRequest: 2, retryStrategy: () => 200 });
  client.on('error', () => undefined);
  // As the gateway does at start-up: before the connection is ready, budgets are counted in memory.
  await client.ping();
  budgets = createRedisRequestBudgets({
    redis: client,
    prefix: '{budgets}',
    policy: () => ({ points: 3, windowSeconds: 60 }),
    timeoutMs: 200,
  });
});
afterAll(async () => {
  if (own.child.pid !== undefined && own.child.exitCode === null) process.kill(own.child.pid, 'SIGCONT');
  client.disconnect();
  await own.kill();
});

it('counts in Redis while it answers', async () => {
  const first = await budgets.take('lookup', caller('cl_up'));
  expect(first).toMatchObject({ allowed: true, remaining: 2 });
  expect(await client.get('{budgets}:rate:lookup:cl_up')).toBe('1');
});

it('answers from memory, with the same budget, while Redis does not answer', async () => {
  process.kill(own.child.pid!, 'SIGSTOP');
  try {
    const taken = [];
    for (let i = 0; i < 4; i += 1) taken.push((await budgets.take('lookup', caller('cl_frozen'))).allowed);
    expect(taken).toEqual([true, true, true, false]);
    // Another client's budget is its own, in memory too.
    expect((await budgets.take('lookup', caller('cl_other'))).allowed).toBe(true);
  } finally {
    process.kill(own.child.pid!, 'SIGCONT');
  }
});

it('answers from memory at once while Redis is gone', async () => {
  await own.kill();
  await waitFor(() => Promise.resolve(client.status !== 'ready' ? true : undefined), {
    what: 'the connection noticing Redis is gone',
  });
  const taken = [];
  for (let i = 0; i < 4; i += 1) taken.push((await budgets.take('verify', caller('cl_gone'))).allowed);
  expect(taken).toEqual([true, true, true, false]);
});
