/**
 * Reads the audit trail: a page of one tenant's records by patient, client, agent and time
 * (newest first, through the most selective index), and every record in a time range across all
 * streams (oldest first, for export).
 */
import type { Redis } from 'ioredis';
import type {
  AuditCursor,
  AuditPage,
  AuditQuery,
  AuditRecord,
  StoredAuditRecord,
} from '../../src/domain/audit';
import { ContinuumError } from '../../src/domain/errors';
import { entryRecord, type StreamEntry } from './audit-entry';
import type { AuditKeys } from './audit-keys';
import { blindAgent, blindClient, blindPatient } from './audit-writer';

export interface AuditReaderOptions {
  readonly redis: Redis;
  readonly keys: AuditKeys;
  readonly blind: (value: string) => string;
}

export interface AuditReader {
  query(query: AuditQuery): Promise<AuditPage>;
  readAfter(cursor: AuditCursor, limit: number): Promise<readonly StoredAuditRecord[]>;
  cursor(name: string): Promise<AuditCursor>;
  saveCursor(name: string, cursor: AuditCursor): Promise<void>;
  scan(since: Date | undefined, until: Date | undefined): AsyncIterable<StoredAuditRecord>;
}

interface Cursor {
  readonly score: number;
  readonly member: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.score, cursor.member])).toString('base64url');
}

function decodeCursor(raw: string): Cursor {
  try {
    const [score, member] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof score === 'number' && typeof member === 'string') return { score, member };
  } catch {
    // answered below
  }
  throw new ContinuumError('VALIDATION', { detail: 'cursor: not a cursor this endpoint gave' });
}

function matches(record: AuditRecord, query: AuditQuery): boolean {
  if (query.patient !== undefined && !(record.patients ?? []).includes(query.patient)) return false;
  if (query.client !== undefined && record.client !== query.client) return false;
  if (query.agent !== undefined && record.agent !== query.agent) return false;
  return true;
}

/** Index entries read per round trip while filling a page. */
const SCAN_BATCH = 200;
/** Round trips per page at most: a page with few matches says so with a cursor, never hangs. */
const MAX_BATCHES = 10;

export function createAuditReader(options: AuditReaderOptions): AuditReader {
  const { redis, keys, blind } = options;

  function indexFor(query: AuditQuery, tenant: string): string {
    if (query.patient !== undefined) return keys.byPatient(tenant, blindPatient(blind, query.patient));
    if (query.agent !== undefined) return keys.byAgent(tenant, blindAgent(blind, query.agent));
    if (query.client !== undefined) return keys.byClient(tenant, blindClient(blind, query.client));
    return keys.all(tenant);
  }

  async function fetch(members: readonly string[]): Promise<(AuditRecord | undefined)[]> {
    if (members.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const member of members) {
      const slash = member.indexOf('/');
      const id = member.slice(slash + 1);
      pipeline.xrange(keys.stream(member.slice(0, slash)), id, id);
    }
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, entries]) => {
      if (error !== null) throw error;
      const entry = (entries as StreamEntry[])[0];
      return entry === undefined ? undefined : entryRecord(entry[1]);
    });
  }

  return {
    async readAfter(cursor, limit) {
      const found: StoredAuditRecord[] = [];
      for (const name of await redis.zrange(keys.registry, '0', '-1')) {
        if (found.length >= limit) break;
        const after = cursor[name];
        const page = (await redis.xrange(
          keys.stream(name),
          after === undefined ? '-' : `(${after}`,
          '+',
          'COUNT',
          limit - found.length,
        )) as StreamEntry[];
        for (const [id, fields] of page) {
          const record = entryRecord(fields);
          if (record !== undefined) found.push({ id: `${name}/${id}`, record });
        }
      }
      return found;
    },

    async cursor(name) {
      return redis.hgetall(keys.cursor(name));
    },

    async saveCursor(name, cursor) {
      if (Object.keys(cursor).length > 0) await redis.hset(keys.cursor(name), cursor);
    },

    async query(query) {
      if (query.tenant === undefined) {
        throw new ContinuumError('VALIDATION', { detail: 'an audit query is confined to a tenant' });
      }
      const index = indexFor(query, query.tenant);
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const min = query.since === undefined ? '-inf' : String(query.since.getTime());
      let max = query.until === undefined ? '+inf' : String(query.until.getTime());
      if (cursor !== undefined && (max === '+inf' || cursor.score < Number(max))) max = String(cursor.score);
      const found: StoredAuditRecord[] = [];
      let offset = 0;
      let last: Cursor | undefined;
      for (let batch = 0; batch < MAX_BATCHES && found.length < query.limit; batch++) {
        const raw = await redis.zrange(
          index,
          max,
          min,
          'BYSCORE',
          'REV',
          'LIMIT',
          offset,
          SCAN_BATCH,
          'WITHSCORES',
        );
        if (raw.length === 0) return { records: found };
        offset += raw.length / 2;
        const entries: Cursor[] = [];
        for (let i = 0; i + 1 < raw.length; i += 2) {
          const member = raw[i];
          if (member !== undefined) entries.push({ member, score: Number(raw[i + 1]) });
        }
        // Entries at the cursor's score up to and including the cursor were on earlier pages.
        const fresh = entries.filter(
          (e) => cursor === undefined || e.score < cursor.score || e.member < cursor.member,
        );
        const records = await fetch(fresh.map((e) => e.member));
        for (const [i, entry] of fresh.entries()) {
          const record = records[i];
          last = entry;
          // Gone past retention (the index is trimmed later than the stream), or not this query's.
          if (record !== undefined && matches(record, query)) {
            found.push({ id: entry.member, record });
            if (found.length === query.limit) break;
          }
        }
        if (raw.length / 2 < SCAN_BATCH && found.length < query.limit) return { records: found };
      }
      return last === undefined ? { records: found } : { records: found, next: encodeCursor(last) };
    },

    async *scan(since, until) {
      const streams = await redis.zrange(keys.registry, '0', '-1');
      const start = since === undefined ? '-' : String(since.getTime());
      const end = until === undefined ? '+' : String(until.getTime());
      // Oldest first across streams: a k-way merge of each stream's pages.
      const readers = streams.map((name) => ({
        name,
        after: start,
        buffer: [] as StreamEntry[],
        done: false,
      }));
      const refill = async (reader: (typeof readers)[number]): Promise<void> => {
        if (reader.done || reader.buffer.length > 0) return;
        const page = (await redis.xrange(
          keys.stream(reader.name),
          reader.after,
          end,
          'COUNT',
          500,
        )) as StreamEntry[];
        if (page.length < 500) reader.done = true;
        const lastEntry = page.at(-1);
        if (lastEntry !== undefined) reader.after = `(${lastEntry[0]}`;
        reader.buffer = page;
      };
      for (;;) {
        await Promise.all(readers.map(refill));
        let oldest: (typeof readers)[number] | undefined;
        let oldestAt = Number.POSITIVE_INFINITY;
        for (const reader of readers) {
          const head = reader.buffer[0];
          if (head === undefined) continue;
          const at = Number(head[0].split('-')[0]);
          if (at < oldestAt) {
            oldest = reader;
            oldestAt = at;
          }
        }
        if (oldest === undefined) return;
        const entry = oldest.buffer.shift();
        if (entry === undefined) return;
        const record = entryRecord(entry[1]);
        if (record !== undefined) yield { id: `${oldest.name}/${entry[0]}`, record };
      }
    },
  };
}
