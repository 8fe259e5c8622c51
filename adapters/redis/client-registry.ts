/**
 * The client registry on Redis, shared by every gateway process and the `continuum clients` CLI.
 *
 * Layout (P is the gateway's hash-tagged prefix, e.g. `{continuum}`, so every key lands in one
 * Redis Cluster slot and one script may touch them all):
 *   P:clients:record:<id>  string: the client as JSON (id, name, tenant, scopes, createdAt,
 *                          revokedAt, keys: [{hash, createdAt, expiresAt?}]); key hashes, never keys
 *   P:clients:names        hash: name -> id (HSETNX keeps names unique)
 *   P:clients:keys         hash: SHA-256 of a key -> id
 *   P:clients:ids          set: every id, revoked ones included
 *   P:clients:changed      channel: the id of a client that was created, rotated or revoked
 *
 * Changes to a record are compare-and-set scripts on its JSON (no WATCH: the connection is shared
 * with other stores, and WATCH state belongs to a connection, not to a caller). Authentication is
 * answered from memory when it can (client-auth-cache.ts), kept honest by the change channel
 * (client-change-listener.ts).
 */
import type { Redis } from 'ioredis';
import type { ClientInfo, ClientRegistry, NewClient } from '../../src/domain/access';
import { ContinuumError, validationError } from '../../src/domain/errors';
import type { Logger } from '../../src/domain/ports';
import { createClientAuthCache, type ClientAuthCacheOptions, type KeyEntry } from './client-auth-cache';
import { listenForClientChanges } from './client-change-listener';
import {
  hashApiKey,
  isClientId,
  looksLikeApiKey,
  newApiKey,
  newClientId,
  sameKeyHash,
} from './client-key-material';
import {
  isExpired,
  parseStoredClient,
  toClientInfo,
  validateNewClient,
  type StoredClient,
  type StoredKey,
} from './client-record';
import { luaScript } from './lua-script';

export interface RedisClientRegistryOptions {
  readonly redis: Redis;
  /**
   * The connection to hear about changes on. Absent: the registry opens a duplicate of `redis`
   * and quits it on close. A given one is left open (only unsubscribed).
   */
  readonly subscriber?: Redis;
  /** The gateway's hash-tagged key prefix, e.g. `{continuum}`. */
  readonly prefix: string;
  readonly logger: Logger;
  /** Decides key expiry after a rotation (tests move it forward). */
  readonly now?: () => Date;
  /** How long answers are kept in memory; the defaults suit a gateway. */
  readonly cache?: ClientAuthCacheOptions;
}

/** A year: past that, the old key is not in a grace period but simply a second key. */
const MAX_GRACE_SECONDS = 365 * 24 * 3600;
/** Compare-and-set attempts before a change gives up to a record that keeps changing under it. */
const UPDATE_ATTEMPTS = 5;

// KEYS: names, key hashes, ids, the new record. ARGV: name, id, key hash, record JSON, channel.
// -1: the id is taken (draw another); 0: the name is taken; 1: created.
const CREATE = luaScript(`
if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('SET', KEYS[4], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('PUBLISH', ARGV[5], ARGV[2])
return 1
`);

// KEYS: the record, key hashes. ARGV: the record as read, the record to write, id, channel ('' for
// none), n, n hashes to drop, m, m hashes to add. 0: the record changed since it was read.
const UPDATE = luaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
local n = tonumber(ARGV[5])
for i = 1, n do
  local hash = ARGV[5 + i]
  if redis.call('HGET', KEYS[2], hash) == ARGV[3] then redis.call('HDEL', KEYS[2], hash) end
end
local m = tonumber(ARGV[6 + n])
for i = 1, m do
  redis.call('HSET', KEYS[2], ARGV[6 + n + i], ARGV[3])
end
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[3]) end
return 1
`);

interface Change {
  readonly next: StoredClient;
  readonly drop: readonly string[];
  readonly add: readonly string[];
}

export function createRedisClientRegistry(options: RedisClientRegistryOptions): ClientRegistry {
  const { redis, prefix, logger } = options;
  const now = options.now ?? (() => new Date());
  const names = `${prefix}:clients:names`;
  const keyIndex = `${prefix}:clients:keys`;
  const ids = `${prefix}:clients:ids`;
  const recordKey = (id: string): string => `${prefix}:clients:record:${id}`;
  const channel = `${prefix}:clients:changed`;

  const cache = createClientAuthCache(options.cache);
  const listener = listenForClientChanges({
    subscriber:
      options.subscriber ??
      redis.duplicate({ connectionName: `${redis.options.connectionName ?? 'continuum'}:client-changes` }),
    owned: options.subscriber === undefined,
    channel,
    logger,
    onChange: (id) => {
      cache.forgetClient(id);
    },
    onListening: () => {
      cache.resume();
    },
    onDeaf: () => {
      cache.suspend();
    },
  });

  async function load(id: string): Promise<StoredClient | undefined> {
    const raw = await redis.get(recordKey(id));
    if (raw === null) return undefined;
    const record = parseStoredClient(raw);
    if (record === undefined) logger.error({ clientId: id }, 'client registry: unreadable client record');
    return record;
  }

  async function resolveId(idOrName: string): Promise<string | undefined> {
    if (isClientId(idOrName)) return idOrName;
    return (await redis.hget(names, idOrName)) ?? undefined;
  }

  async function requireId(idOrName: string): Promise<string> {
    const id = await resolveId(idOrName);
    if (id === undefined || (await redis.exists(recordKey(id))) === 0) {
      throw new ContinuumError('NOT_FOUND', { detail: `no client with id or name "${idOrName}"` });
    }
    return id;
  }

  /** Applies `change` to the record as it is now, retrying if another process changed it meanwhile. */
  async function update(
    id: string,
    change: (current: StoredClient, at: Date) => Change | undefined,
    publish: boolean,
  ): Promise<StoredClient> {
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const raw = await redis.get(recordKey(id));
      const current = raw === null ? undefined : parseStoredClient(raw);
      if (raw === null || current === undefined) {
        throw new ContinuumError('NOT_FOUND', { detail: `no client with id "${id}"` });
      }
      const planned = change(current, now());
      if (planned === undefined) return current;
      const done = await UPDATE.run(
        redis,
        [recordKey(id), keyIndex],
        [
          raw,
          JSON.stringify(planned.next),
          id,
          publish ? channel : '',
          planned.drop.length,
          ...planned.drop,
          planned.add.length,
          ...planned.add,
        ],
      );
      if (Number(done) === 1) {
        // Here at once; other processes when the message reaches them.
        cache.forgetClient(id);
        return planned.next;
      }
    }
    throw new ContinuumError('CONFLICT', { detail: `client ${id} kept changing; try again` });
  }

  /** Expired keys stop working when they expire; this only tidies their hashes away. */
  async function pruneExpiredKeys(id: string): Promise<void> {
    await update(
      id,
      (current, at) => {
        const expired = current.keys.filter((key) => isExpired(key, at));
        if (expired.length === 0) return undefined;
        return {
          next: { ...current, keys: current.keys.filter((key) => !isExpired(key, at)) },
          drop: expired.map((key) => key.hash),
          add: [],
        };
      },
      // Nothing another process could have cached changes meaning: an expired key is refused anyway.
      false,
    ).catch((error: unknown) => {
      logger.warn({ err: error, clientId: id }, 'client registry: could not prune expired keys');
    });
  }

  async function lookUpKey(hash: string): Promise<KeyEntry> {
    const since = cache.version();
    const id = await redis.hget(keyIndex, hash);
    const record = id === null ? undefined : await load(id);
    if (id === null || record === undefined) {
      const unknown: KeyEntry = { kind: 'unknown' };
      cache.rememberKey(hash, unknown, since);
      return unknown;
    }
    const at = now();
    const key = record.keys.find((candidate) => sameKeyHash(candidate.hash, hash));
    const entry: KeyEntry =
      record.revokedAt !== null || key === undefined || isExpired(key, at)
        ? { kind: 'refused', clientId: record.id }
        : {
            kind: 'valid',
            clientId: record.id,
            client: toClientInfo(record, at),
            keyExpiresAt: key.expiresAt === undefined ? undefined : Date.parse(key.expiresAt),
          };
    cache.rememberKey(hash, entry, since);
    if (record.keys.some((candidate) => isExpired(candidate, at))) await pruneExpiredKeys(record.id);
    return entry;
  }

  return {
    async create(client: NewClient) {
      const valid = validateNewClient(client);
      const key = newApiKey();
      const hash = hashApiKey(key);
      const at = now().toISOString();
      // Another draw only if 96 random bits collide with an existing id.
      for (let attempt = 0; attempt < 3; attempt++) {
        const id = newClientId();
        const record: StoredClient = {
          id,
          name: valid.name,
          tenant: valid.tenant,
          scopes: [...valid.scopes],
          createdAt: at,
          revokedAt: null,
          keys: [{ hash, createdAt: at }],
        };
        const created = Number(
          await CREATE.run(
            redis,
            [names, keyIndex, ids, recordKey(id)],
            [valid.name, id, hash, JSON.stringify(record), channel],
          ),
        );
        if (created === 0) {
          throw validationError([
            { field: 'name', message: `a client named "${valid.name}" already exists` },
          ]);
        }
        if (created === 1) {
          cache.forgetClient(id);
          logger.info({ clientId: id, tenant: valid.tenant }, 'client created');
          return { client: toClientInfo(record, now()), key };
        }
      }
      throw new ContinuumError('INTERNAL', { detail: 'could not draw an unused client id' });
    },

    async list() {
      const all = await redis.smembers(ids);
      if (all.length === 0) return [];
      const raws = await redis.mget(all.map(recordKey));
      const at = now();
      const clients: ClientInfo[] = [];
      raws.forEach((raw, i) => {
        if (raw === null) return;
        const record = parseStoredClient(raw);
        if (record === undefined) {
          logger.error({ clientId: all[i] }, 'client registry: unreadable client record');
          return;
        }
        clients.push(toClientInfo(record, at));
      });
      return clients.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
    },

    async find(idOrName) {
      const id = await resolveId(idOrName);
      const record = id === undefined ? undefined : await load(id);
      return record === undefined ? undefined : toClientInfo(record, now());
    },

    async grant(idOrName, scopes) {
      const id = await requireId(idOrName);
      const record = await update(
        id,
        (current) => {
          if (current.revokedAt !== null) {
            throw new ContinuumError('CONFLICT', { detail: `client ${id} is revoked` });
          }
          const added = scopes.filter((scope) => !current.scopes.includes(scope));
          if (added.length === 0) return undefined;
          return { next: { ...current, scopes: [...current.scopes, ...added] }, drop: [], add: [] };
        },
        true,
      );
      logger.info({ clientId: id, scopes: record.scopes }, 'client scopes granted');
      return toClientInfo(record, now());
    },

    async revoke(idOrName) {
      const id = await requireId(idOrName);
      const record = await update(
        id,
        (current, at) =>
          current.revokedAt !== null
            ? undefined
            : {
                next: { ...current, revokedAt: at.toISOString(), keys: [] },
                drop: current.keys.map((key) => key.hash),
                add: [],
              },
        true,
      );
      logger.info({ clientId: id }, 'client revoked');
      return toClientInfo(record, now());
    },

    async rotate(idOrName, graceSeconds) {
      if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
        throw validationError([
          { field: 'graceSeconds', message: `a whole number of seconds from 0 to ${MAX_GRACE_SECONDS}` },
        ]);
      }
      const id = await requireId(idOrName);
      const key = newApiKey();
      const hash = hashApiKey(key);
      const record = await update(
        id,
        (current, at) => {
          if (current.revokedAt !== null) {
            throw new ContinuumError('CONFLICT', {
              detail: `client ${id} is revoked; create a new client instead`,
            });
          }
          const until = at.getTime() + graceSeconds * 1000;
          const kept: StoredKey[] = [];
          const drop: string[] = [];
          for (const old of current.keys) {
            if (graceSeconds === 0 || isExpired(old, at)) {
              drop.push(old.hash);
              continue;
            }
            // A key already due to expire sooner (an earlier rotation) keeps its own deadline.
            const expiresAt = Math.min(
              until,
              old.expiresAt === undefined ? until : Date.parse(old.expiresAt),
            );
            kept.push({ ...old, expiresAt: new Date(expiresAt).toISOString() });
          }
          kept.push({ hash, createdAt: at.toISOString() });
          return { next: { ...current, keys: kept }, drop, add: [hash] };
        },
        true,
      );
      logger.info({ clientId: id, graceSeconds }, 'client key rotated');
      return { client: toClientInfo(record, now()), key };
    },

    async authenticate(key, clientId) {
      if (!looksLikeApiKey(key)) return undefined;
      const hash = hashApiKey(key);
      const entry = cache.key(hash) ?? (await lookUpKey(hash));
      if (entry.kind !== 'valid') return undefined;
      if (entry.keyExpiresAt !== undefined && entry.keyExpiresAt <= now().getTime()) return undefined;
      if (clientId !== undefined && clientId !== entry.clientId) return undefined;
      return entry.client;
    },

    async active(clientId) {
      if (!isClientId(clientId)) return undefined;
      const cached = cache.client(clientId);
      if (cached !== undefined) return cached.client;
      const since = cache.version();
      const record = await load(clientId);
      const client =
        record !== undefined && record.revokedAt === null ? toClientInfo(record, now()) : undefined;
      cache.rememberClient(clientId, { client }, since);
      return client;
    },

    close: () => listener.close(),
  };
}
