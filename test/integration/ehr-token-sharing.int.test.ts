/**
 * The shared EHR access token on the real Redis, as many worker processes see it: a cold start of
 * eight at once asks the token endpoint once; the token is sealed at rest; a late 401 from one
 * process does not throw away the token another already renewed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  createAccessTokenSource,
  type AccessTokenSource,
  type TokenGrant,
} from '../../adapters/ehr/oauth/access-token-source';
import { createRedisEhrTokenStore } from '../../adapters/redis/ehr-token-store';
import { createRecordCipher } from '../../adapters/redis/record-cipher';
import { createLogger } from '../../src/observability/logger';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';

const logger = createLogger({ level: 'silent' });
let redis: Redis;
let prefixName: string;
let issued: string[];

beforeEach(() => {
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  prefixName = `t-ehr-token-${randomUUID().slice(0, 8)}`;
  issued = [];
});
afterEach(async () => {
  redis.disconnect();
  await deletePrefix(prefixName);
});

/** A token endpoint that takes a moment to answer, as real ones do. */
const grant = (): Promise<TokenGrant> =>
  Promise.resolve({
    credentials: 'the-same-client',
    fetch: async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const token = `at-${randomBytes(12).toString('hex')}`;
      issued.push(token);
      return { accessToken: token, expiresIn: 300 };
    },
  });

function processes(count: number): AccessTokenSource[] {
  const cipher = createRecordCipher(randomBytes(32));
  return Array.from({ length: count }, () =>
    createAccessTokenSource({
      connection: 'epic',
      grant,
      // Each process has its own connection in life; one is enough to share the keys.
      store: createRedisEhrTokenStore({ redis, prefix: `{${prefixName}}`, cipher }),
      logger,
    }),
  );
}

it('eight processes starting at once make one token request and present the same token', async () => {
  const workers = processes(8);

  const tokens = await Promise.all(workers.map((w) => w.token()));

  expect(issued).toHaveLength(1);
  expect(new Set(tokens)).toEqual(new Set(issued));
  expect(workers.reduce((sum, w) => sum + w.tokenRequests(), 0)).toBe(1);
  // At rest it is sealed: Redis holds no copy of the token a dump could leak.
  const raw = await redis.getBuffer(`{${prefixName}}:ehr-token:epic`);
  expect(raw).not.toBeNull();
  expect(raw?.toString('latin1')).not.toContain(issued[0]);
});

it('a 401 renews the token once: a second process reporting the same token adopts the new one', async () => {
  const [a, b] = processes(2) as [AccessTokenSource, AccessTokenSource];
  const first = await a.token();
  expect(await b.token()).toBe(first);

  const renewed = await a.renew(first);
  expect(renewed).not.toBe(first);
  // b heard the same 401 a moment later: the token a fetched stays, b takes it.
  expect(await b.renew(first)).toBe(renewed);
  expect(issued).toHaveLength(2);
});
