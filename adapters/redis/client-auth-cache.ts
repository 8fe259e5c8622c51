/**
 * What authentication learnt, kept in memory. Every request authenticates, so a known key must not
 * cost a Redis round trip each time, and a scan of made-up keys must not become a scan of Redis.
 *
 * Entries are learnt only while change messages are being received: the cache starts suspended,
 * is suspended when the subscriber connection drops, and resumes empty once it is subscribed
 * again (a message may have been missed meanwhile). While suspended, what it already holds is
 * still served until its TTL: the connection usually drops because Redis is away, and then no
 * client can be revoked either, while callers with known keys can still be answered (reads from
 * the EHR need no Redis). A TTL bounds staleness should a message ever be lost anyway. A result
 * read from Redis before a change arrived is not stored after it (`version`).
 */
import { LRUCache } from 'lru-cache';
import type { ClientInfo } from '../../src/domain/access';

export type KeyEntry =
  /** No client has this key hash. */
  | { readonly kind: 'unknown' }
  /** The key's client is revoked, or the key is not (any more) one of its keys. */
  | { readonly kind: 'refused'; readonly clientId: string }
  | {
      readonly kind: 'valid';
      readonly clientId: string;
      readonly client: ClientInfo;
      /** Epoch ms after which this key stops working (set by a rotation with grace). */
      readonly keyExpiresAt: number | undefined;
    };

export interface ClientEntry {
  /** Undefined: no such client, or revoked. */
  readonly client: ClientInfo | undefined;
}

export interface ClientAuthCache {
  /** Read before going to Redis and handed back to `remember*`, which ignore stale results. */
  version(): number;
  key(hash: string): KeyEntry | undefined;
  rememberKey(hash: string, entry: KeyEntry, version: number): void;
  client(id: string): ClientEntry | undefined;
  rememberClient(id: string, entry: ClientEntry, version: number): void;
  /** Drops every entry about this client (a change message, or a change made here). */
  forgetClient(id: string): void;
  /** Changes may go unnoticed from now on: learn nothing new; serve what is held until its TTL. */
  suspend(): void;
  /** Change messages arrive again; whatever was missed meanwhile is not in the (empty) cache. */
  resume(): void;
}

export interface ClientAuthCacheOptions {
  /** A valid key, or a known client: the backstop if a change message is lost. */
  readonly ttlMs?: number;
  /** An unknown or refused key, a missing or revoked client: short, as a new client may appear. */
  readonly negativeTtlMs?: number;
  readonly max?: number;
}

export function createClientAuthCache(options: ClientAuthCacheOptions = {}): ClientAuthCache {
  const ttl = options.ttlMs ?? 30_000;
  const negativeTtl = options.negativeTtlMs ?? 5_000;
  const max = options.max ?? 10_000;
  const keys = new LRUCache<string, KeyEntry>({ max, ttl });
  const clients = new LRUCache<string, ClientEntry>({ max, ttl });
  let version = 0;
  let listening = false;

  const clear = (): void => {
    version++;
    keys.clear();
    clients.clear();
  };

  return {
    version: () => version,
    key: (hash) => keys.get(hash),
    rememberKey(hash, entry, since) {
      if (!listening || since !== version) return;
      keys.set(hash, entry, { ttl: entry.kind === 'valid' ? ttl : negativeTtl });
    },
    client: (id) => clients.get(id),
    rememberClient(id, entry, since) {
      if (!listening || since !== version) return;
      clients.set(id, entry, { ttl: entry.client !== undefined ? ttl : negativeTtl });
    },
    forgetClient(id) {
      version++;
      clients.delete(id);
      const stale: string[] = [];
      for (const [hash, entry] of keys.entries()) {
        if (entry.kind !== 'unknown' && entry.clientId === id) stale.push(hash);
      }
      for (const hash of stale) keys.delete(hash);
    },
    suspend() {
      listening = false;
      // Results read from Redis before the drop are not stored after it.
      version++;
    },
    resume() {
      clear();
      listening = true;
    },
  };
}
