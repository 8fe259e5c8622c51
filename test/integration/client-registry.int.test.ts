/**
 * The client registry on a real Redis: a key is shown once and stored only as a hash, rotation
 * keeps the old key for its grace period and no longer, and a revocation made in one process is
 * refused by another within a second although that one had the key cached as valid.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  createRedisClientRegistry,
  type RedisClientRegistryOptions,
} from '../../adapters/redis/client-registry';
import type { ClientRegistry, NewClient } from '../../src/domain/access';
import { ContinuumError } from '../../src/domain/errors';
import { createLogger } from '../../src/observability/logger';
import { waitUntilCached } from '../support/client-registry-probe';
import { captureLogs } from '../support/log-capture';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';
import { startOwnRedis } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

let name: string;
let prefix: string;
let logs: ReturnType<typeof captureLogs>;
let offsetMs: number;
const connections: Redis[] = [];
const registries: ClientRegistry[] = [];

beforeEach(() => {
  name = `test-clients-${randomUUID()}`;
  prefix = `{${name}}`;
  logs = captureLogs();
  offsetMs = 0;
});

afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
  for (const connection of connections.splice(0)) connection.disconnect();
  await deletePrefix(name);
});

function connect(connectionName?: string): Redis {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2, connectionName });
  connections.push(redis);
  return redis;
}

/** A registry as a separate gateway process would have it: its own connections, its own cache. */
function registry(extra: Partial<RedisClientRegistryOptions> = {}): ClientRegistry {
  const created = createRedisClientRegistry({
    redis: connect(),
    prefix,
    logger: createLogger({ level: 'debug', destination: logs.stream }),
    now: () => new Date(Date.now() + offsetMs),
    // Keeps a probe's brief hiding of a key from being remembered for long (client-registry-probe.ts).
    cache: { negativeTtlMs: 100 },
    ...extra,
  });
  registries.push(created);
  return created;
}

const genesys: NewClient = {
  name: 'genesys-prod',
  tenant: 'north',
  scopes: ['patients:read', 'calls:write'],
};

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Every key under the test's prefix with its value, as text. */
async function everythingStored(): Promise<string> {
  const redis = connect();
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'string'
          ? await redis.get(key)
          : type === 'hash'
            ? JSON.stringify(await redis.hgetall(key))
            : type === 'set'
              ? JSON.stringify(await redis.smembers(key))
              : `(${type})`;
      parts.push(`${key} = ${value ?? ''}`);
    }
  } while (cursor !== '0');
  return parts.join('\n');
}

async function refusal(promise: Promise<unknown>): Promise<ContinuumError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ContinuumError)) throw new Error(`expected a ContinuumError, got ${String(error)}`);
  return error;
}

it('creates a client whose key authenticates it, and keeps the key itself nowhere', async () => {
  const clients = registry();
  const { client, key } = await clients.create(genesys);
  expect(key).toMatch(/^ck_[A-Za-z0-9_-]{43}$/);
  expect(client).toMatchObject({
    id: expect.stringMatching(/^cl_[0-9a-f]{24}$/),
    name: 'genesys-prod',
    tenant: 'north',
    scopes: ['patients:read', 'calls:write'],
    revokedAt: undefined,
  });

  expect(await clients.authenticate(key)).toMatchObject({ id: client.id, tenant: 'north' });
  expect(await clients.authenticate(key, client.id)).toMatchObject({ id: client.id });
  // A key presented for another client (a token request naming a different client_id) is refused.
  const other = await clients.create({ ...genesys, name: 'ivr' });
  expect(await clients.authenticate(key, other.client.id)).toBeUndefined();
  expect(await clients.active(client.id)).toMatchObject({ id: client.id });
  expect(await clients.find('genesys-prod')).toMatchObject({ id: client.id });
  expect(await clients.find(client.id)).toMatchObject({ name: 'genesys-prod' });

  const stored = await everythingStored();
  expect(stored).toContain(sha256(key));
  for (const k of [key, other.key]) {
    expect(stored).not.toContain(k);
    expect(stored).not.toContain(k.slice(3));
    expect(logs.text()).not.toContain(k.slice(3));
  }
  // Every key is under the prefix; nothing lands outside it.
  expect(stored.split('\n').every((line) => line.startsWith(`${prefix}:clients:`))).toBe(true);
});

it('refuses unknown, malformed and never-issued keys', async () => {
  const clients = registry();
  const { key } = await clients.create(genesys);
  const neverIssued = `ck_${Buffer.alloc(32, 7).toString('base64url')}`;
  expect(await clients.authenticate(neverIssued)).toBeUndefined();
  // Asked twice: the second answer may come from memory, and must say the same.
  expect(await clients.authenticate(neverIssued)).toBeUndefined();
  for (const bad of [
    '',
    'ck_',
    key.slice(0, -1),
    `${key}x`,
    key.toUpperCase(),
    sha256(key),
    `Bearer ${key}`,
  ]) {
    expect(await clients.authenticate(bad)).toBeUndefined();
  }
  expect(await clients.active('cl_000000000000000000000000')).toBeUndefined();
  expect(await clients.active('genesys-prod')).toBeUndefined();
  expect(await clients.find('nobody')).toBeUndefined();
});

it('refuses a second client with the same name, even when two processes create it at once', async () => {
  const a = registry();
  const b = registry();
  const results = await Promise.allSettled([a.create(genesys), b.create({ ...genesys, tenant: 'south' })]);
  const created = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r) => r.status === 'rejected');
  expect(created).toHaveLength(1);
  expect(refused).toHaveLength(1);
  expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'VALIDATION' });
  expect((await a.list()).map((c) => c.name)).toEqual(['genesys-prod']);

  const again = await refusal(a.create(genesys));
  expect(again.code).toBe('VALIDATION');
  expect(again.detail).toContain('already exists');
  expect(await a.list()).toHaveLength(1);
});

it('refuses an invalid name, an empty tenant, no scope or an unknown scope, and stores nothing', async () => {
  const clients = registry();
  const invalid: unknown[] = [
    { ...genesys, name: 'Genesys Prod' },
    { ...genesys, name: '-leading-dash' },
    { ...genesys, name: 'x'.repeat(64) },
    { ...genesys, tenant: '' },
    { ...genesys, scopes: [] },
    { ...genesys, scopes: ['patients:read', 'patients:delete'] },
    { ...genesys, scopes: ['*'] },
  ];
  for (const client of invalid) {
    const error = await refusal(clients.create(client as NewClient));
    expect(error.code).toBe('VALIDATION');
  }
  expect(await everythingStored()).toBe('');
  expect(await clients.list()).toEqual([]);
});

it('after a rotation with grace, old and new keys work until the grace ends, then only the new one', async () => {
  const clients = registry();
  const { client, key: old } = await clients.create(genesys);
  expect(await clients.authenticate(old)).toBeDefined();

  const rotated = await clients.rotate('genesys-prod', 3600);
  expect(rotated.key).not.toBe(old);
  expect(await clients.authenticate(old)).toMatchObject({ id: client.id });
  expect(await clients.authenticate(rotated.key)).toMatchObject({ id: client.id });
  const keys = rotated.client.keys;
  expect(keys).toHaveLength(2);
  expect(keys[1]?.expiresAt).toBeUndefined();
  expect(Date.parse(keys[0]?.expiresAt ?? '') - Date.parse(keys[1]?.createdAt ?? '')).toBe(3600_000);

  offsetMs = 3600_000 + 1000;
  expect(await clients.authenticate(old)).toBeUndefined();
  expect(await clients.authenticate(rotated.key)).toMatchObject({ id: client.id });
  expect((await clients.find(client.id))?.keys).toHaveLength(1);

  // Another process, with nothing cached, refuses it too, and tidies the expired hash away.
  const other = registry();
  expect(await other.authenticate(old)).toBeUndefined();
  expect(await other.authenticate(rotated.key)).toMatchObject({ id: client.id });
  const redis = connect();
  expect(await redis.hexists(`${prefix}:clients:keys`, sha256(old))).toBe(0);
  const record = JSON.parse((await redis.get(`${prefix}:clients:record:${client.id}`)) ?? '{}');
  expect(record.keys.map((k: { hash: string }) => k.hash)).toEqual([sha256(rotated.key)]);
});

it('a second rotation never extends the grace an earlier one gave', async () => {
  const clients = registry();
  const { key: first } = await clients.create(genesys);
  const second = await clients.rotate('genesys-prod', 60);
  const third = await clients.rotate('genesys-prod', 3600);
  expect(third.client.keys).toHaveLength(3);
  offsetMs = 61_000;
  expect(await clients.authenticate(first)).toBeUndefined();
  expect(await clients.authenticate(second.key)).toBeDefined();
  expect(await clients.authenticate(third.key)).toBeDefined();
});

it('a rotation without grace refuses the old key at once, here and in another process', async () => {
  const a = registry();
  const b = registry();
  const { key: old } = await a.create(genesys);
  await waitUntilCached(b, connect(), prefix, old);

  const rotated = await a.rotate('genesys-prod', 0);
  expect(await a.authenticate(old)).toBeUndefined();
  expect(await a.authenticate(rotated.key)).toBeDefined();
  expect(rotated.client.keys).toHaveLength(1);
  await waitFor(async () => ((await b.authenticate(old)) === undefined ? true : undefined), {
    timeoutMs: 1000,
    what: 'the other process to refuse the old key',
  });
  expect(await b.authenticate(rotated.key)).toBeDefined();
});

it('refuses rotation values that are not a grace period', async () => {
  const clients = registry();
  await clients.create(genesys);
  for (const grace of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 366 * 24 * 3600]) {
    expect((await refusal(clients.rotate('genesys-prod', grace))).code).toBe('VALIDATION');
  }
  expect((await refusal(clients.rotate('nobody', 60))).code).toBe('NOT_FOUND');
  expect((await clients.find('genesys-prod'))?.keys).toHaveLength(1);
});

it('a revoked client is refused with every key, kept in the list as revoked, and cannot be rotated', async () => {
  const clients = registry();
  const { client, key: first } = await clients.create(genesys);
  const { key: second } = await clients.rotate(client.id, 3600);
  const revoked = await clients.revoke('genesys-prod');
  expect(revoked.revokedAt).toEqual(expect.any(String));
  expect(revoked.keys).toEqual([]);
  expect(await clients.authenticate(first)).toBeUndefined();
  expect(await clients.authenticate(second)).toBeUndefined();
  expect(await clients.active(client.id)).toBeUndefined();
  expect(await clients.list()).toEqual([
    expect.objectContaining({ id: client.id, revokedAt: revoked.revokedAt }),
  ]);
  expect(await connect().hlen(`${prefix}:clients:keys`)).toBe(0);

  expect((await refusal(clients.rotate(client.id, 0))).code).toBe('CONFLICT');
  // Revoking again changes nothing, and an unknown client is not found.
  expect((await clients.revoke(client.id)).revokedAt).toBe(revoked.revokedAt);
  expect((await refusal(clients.revoke('nobody'))).code).toBe('NOT_FOUND');
  // The name stays taken: a new client is a new name, never a revived one.
  expect((await refusal(clients.create(genesys))).code).toBe('VALIDATION');
});

it('lists clients with their keys’ dates, never a key or its hash', async () => {
  const clients = registry();
  const a = await clients.create(genesys);
  const b = await clients.create({ name: 'ivr', tenant: 'south', scopes: ['appointments:read'] });
  const rotated = await clients.rotate('ivr', 600);
  const list = await clients.list();
  expect(list.map((c) => c.name)).toEqual(['genesys-prod', 'ivr']);
  expect(list[1]?.keys).toEqual([
    { createdAt: expect.any(String), expiresAt: expect.any(String) },
    { createdAt: expect.any(String), expiresAt: undefined },
  ]);
  const text = JSON.stringify(list);
  for (const key of [a.key, b.key, rotated.key]) {
    expect(text).not.toContain(key.slice(3));
    expect(text).not.toContain(sha256(key));
  }
  expect(text).not.toContain('hash');
});

it('a key revoked in one process is refused by another within a second, though it had it cached', async () => {
  const a = registry();
  const b = registry();
  const { client, key } = await a.create(genesys);
  await waitUntilCached(b, connect(), prefix, key);
  expect(await b.active(client.id)).toBeDefined();

  const started = Date.now();
  await a.revoke(client.id);
  await waitFor(
    async () =>
      (await b.authenticate(key)) === undefined && (await b.active(client.id)) === undefined
        ? true
        : undefined,
    { timeoutMs: 1000, intervalMs: 5, what: 'the other process to refuse the revoked key' },
  );
  const ms = Date.now() - started;
  console.log(`revocation refused by another registry ${ms} ms after revoke() began`);
  expect(ms).toBeLessThan(1000);
});

it('without the change message a cached key would stay valid: the message is what refuses it', async () => {
  const b = registry();
  const redis = connect();
  const { client, key } = await registry().create(genesys);
  await waitUntilCached(b, redis, prefix, key);

  // Revoked behind the registry's back, with no message: the cache still says valid.
  const recordKey = `${prefix}:clients:record:${client.id}`;
  const record = JSON.parse((await redis.get(recordKey)) ?? '{}');
  await redis.set(recordKey, JSON.stringify({ ...record, revokedAt: new Date().toISOString(), keys: [] }));
  await redis.hdel(`${prefix}:clients:keys`, sha256(key));
  expect(await b.authenticate(key)).toBeDefined();

  await redis.publish(`${prefix}:clients:changed`, client.id);
  await waitFor(async () => ((await b.authenticate(key)) === undefined ? true : undefined), {
    timeoutMs: 1000,
    what: 'the message to drop the cached key',
  });
});

it('forgets its cache when the subscriber reconnects: a message missed meanwhile does not matter', async () => {
  const subscriber = connect();
  const subscriberId = await subscriber.client('ID');
  const b = registry({ subscriber });
  const redis = connect();
  const { client, key } = await registry().create(genesys);
  await waitUntilCached(b, redis, prefix, key);

  const recordKey = `${prefix}:clients:record:${client.id}`;
  const record = JSON.parse((await redis.get(recordKey)) ?? '{}');
  await redis.set(recordKey, JSON.stringify({ ...record, revokedAt: new Date().toISOString(), keys: [] }));
  await redis.hdel(`${prefix}:clients:keys`, sha256(key));
  expect(await b.authenticate(key)).toBeDefined();

  await redis.client('KILL', 'ID', String(subscriberId));
  await waitFor(async () => ((await b.authenticate(key)) === undefined ? true : undefined), {
    timeoutMs: 5000,
    what: 'the reconnect to empty the cache',
  });
  // Listening again afterwards: a later change is heard.
  const { key: fresh, client: next } = await registry().create({ ...genesys, name: 'ivr' });
  await waitUntilCached(b, redis, prefix, fresh);
  await registry().revoke(next.id);
  await waitFor(async () => ((await b.authenticate(fresh)) === undefined ? true : undefined), {
    timeoutMs: 1000,
    what: 'the later revocation to be heard',
  });
});

it('keeps answering keys it knows while Redis is away, and never admits one it does not know', async () => {
  const own = await startOwnRedis([]);
  const ownConnection = new Redis(own.url, { maxRetriesPerRequest: 1, connectionName: 'own' });
  ownConnection.on('error', () => undefined);
  const subscriber = new Redis(own.url, { connectionName: 'own-subscriber' });
  subscriber.on('error', () => undefined);
  const b = createRedisClientRegistry({
    redis: ownConnection,
    subscriber,
    prefix,
    logger: createLogger({ level: 'debug', destination: logs.stream }),
    cache: { negativeTtlMs: 100 },
  });
  try {
    const { key } = await b.create(genesys);
    // Answered from memory, not merely from Redis: only then does the drop test the cache.
    await waitUntilCached(b, ownConnection, prefix, key);
    await own.kill('SIGKILL');
    // Nobody can revoke while Redis is away: a known caller is still answered from memory.
    await waitFor(() => Promise.resolve(subscriber.status !== 'ready' ? true : undefined), {
      what: 'the drop',
    });
    expect(await b.authenticate(key)).toMatchObject({ name: genesys.name });
    // An unknown key needs Redis to be checked: it is never admitted.
    const unknown = `ck_${'A'.repeat(43)}`;
    expect(await b.authenticate(unknown).catch(() => undefined)).toBeUndefined();
  } finally {
    await b.close();
    ownConnection.disconnect();
    subscriber.disconnect();
    await own.kill('SIGKILL');
  }
});

it('close quits the connection it opened, and only unsubscribes one it was given', async () => {
  const redis = connect();
  const channel = `${prefix}:clients:changed`;
  const subscribers = async (): Promise<number> => Number((await redis.pubsub('NUMSUB', channel))[1]);

  const connectionName = `test-${randomUUID()}`;
  const owning = registry({ redis: connect(connectionName) });
  const given = connect();
  const borrowing = registry({ subscriber: given });
  await waitFor(async () => ((await subscribers()) === 2 ? true : undefined), { what: 'two subscribers' });
  await owning.close();
  await borrowing.close();
  expect(await subscribers()).toBe(0);
  expect(given.status).toBe('ready');
  expect(await redis.client('LIST')).toContain(`name=${connectionName} `);
  expect(await redis.client('LIST')).not.toContain(`name=${connectionName}:client-changes`);
});
