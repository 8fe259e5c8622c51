/**
 * Appends audit records to this writer's own stream, chained, with their indexes, in one MULTI per
 * batch. Requests that arrive while a batch is being stored wait for the next one (group commit):
 * under load one round trip records many accesses, so recording before answering stays cheap.
 * Only this writer appends to its stream, so it can give entries their ids and links before
 * sending them. A batch whose answer was lost may or may not be stored: the next batch first reads
 * the stream's last entry to learn which, so the chain never forks.
 */
import type { Redis } from 'ioredis';
import type { AuditRecord, AuditTrail, NewAuditRecord, StoredAuditRecord } from '../../src/domain/audit';
import { withDeadline } from '../../src/domain/with-deadline';
import { GENESIS, type AuditChain } from './audit-chain';
import type { AuditKeys } from './audit-keys';

export interface AuditWriterOptions {
  /** A connection without an offline queue: with Redis away, recording fails at once. */
  readonly redis: Redis;
  readonly keys: AuditKeys;
  readonly chain: AuditChain;
  /** Keyed hash for index key names. */
  readonly blind: (value: string) => string;
  /** This writer's stream, unique per process; records name it as their `source`. */
  readonly stream: string;
  readonly retentionMs: number;
  /** The tenants whose trail shows a record: its own, or every tenant of its connection. */
  readonly tenantsFor: (record: AuditRecord) => readonly string[];
  /** How long a request may wait for its record to be stored before it is refused. */
  readonly deadlineMs: number;
  /** Told of each batch once stored, in order (copies to a file). */
  readonly onStored?: (records: readonly StoredAuditRecord[]) => void;
}

export interface AuditWriter extends AuditTrail {
  /** Resolves once nothing is waiting to be stored. */
  drain(): Promise<void>;
}

interface Pending {
  readonly record: AuditRecord;
  resolve(): void;
  reject(error: unknown): void;
}

interface Head {
  readonly link: string;
  readonly ms: number;
  readonly seq: number;
}

/** Records per MULTI at most: a burst is cut into several round trips rather than one huge reply. */
const MAX_BATCH = 256;

export const blindPatient = (blind: (v: string) => string, ref: string): string =>
  blind(`audit-patient\n${ref}`);
export const blindClient = (blind: (v: string) => string, id: string): string => blind(`audit-client\n${id}`);
export const blindAgent = (blind: (v: string) => string, agent: string): string =>
  blind(`audit-agent\n${agent}`);

export function createAuditWriter(options: AuditWriterOptions): AuditWriter {
  const { redis, keys, chain, stream } = options;
  const streamKey = keys.stream(stream);
  let head: Head = { link: GENESIS, ms: 0, seq: -1 };
  /** The head a batch would have left, when its answer was lost. */
  let unsure: (Head & { readonly id: string }) | undefined;
  let registered = false;
  let pending: Pending[] = [];
  let flushing: Promise<void> | undefined;

  function nextId(after: Head): Head & { readonly id: string } {
    const now = Date.now();
    const next = now > after.ms ? { ms: now, seq: 0 } : { ms: after.ms, seq: after.seq + 1 };
    return { ...next, link: after.link, id: `${next.ms}-${next.seq}` };
  }

  async function settleUnsure(): Promise<void> {
    if (unsure === undefined) return;
    const last = (await redis.xrevrange(streamKey, '+', '-', 'COUNT', 1))[0];
    if (last !== undefined && last[0] === unsure.id) head = unsure;
    unsure = undefined;
  }

  async function commit(records: readonly AuditRecord[]): Promise<void> {
    await settleUnsure();
    const multi = redis.multi();
    if (!registered) multi.zadd(keys.registry, 'NX', Date.now(), stream);
    let at = head;
    let id = '';
    const touched = new Set<string>();
    const stored: StoredAuditRecord[] = [];
    for (const record of records) {
      const content = JSON.stringify(record);
      const next = nextId(at);
      const link = chain.link(at.link, content);
      id = next.id;
      multi.xadd(streamKey, id, 'r', content, 'p', at.link, 'h', link);
      at = { ms: next.ms, seq: next.seq, link };
      const member = `${stream}/${id}`;
      stored.push({ id: member, record });
      const score = Date.parse(record.recorded);
      for (const tenant of options.tenantsFor(record)) {
        const indexes = [keys.all(tenant)];
        for (const patient of record.patients ?? [])
          indexes.push(keys.byPatient(tenant, blindPatient(options.blind, patient)));
        if (record.client !== undefined)
          indexes.push(keys.byClient(tenant, blindClient(options.blind, record.client)));
        if (record.agent !== undefined)
          indexes.push(keys.byAgent(tenant, blindAgent(options.blind, record.agent)));
        for (const index of indexes) {
          multi.zadd(index, score, member);
          touched.add(index);
        }
      }
    }
    // An index nobody writes to for a whole retention period goes with its last record.
    for (const index of touched) multi.pexpire(index, options.retentionMs);
    multi.hset(keys.head(stream), 'id', id, 'h', at.link);
    // Until EXEC answers, this batch may or may not be stored.
    unsure = { ...at, id };
    const results = await multi.exec();
    const failed = results?.find(([error]) => error !== null)?.[0];
    // EXEC answered: applied in full, or (an error, a discarded MULTI) not at all.
    unsure = undefined;
    if (results === null || failed) throw failed ?? new Error('the audit batch was discarded');
    head = at;
    registered = true;
    options.onStored?.(stored);
  }

  /** The last batch's commit: the next one starts only after it settled, even past its deadline. */
  let previous: Promise<void> = Promise.resolve();

  async function flush(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.slice(0, MAX_BATCH);
      pending = pending.slice(batch.length);
      const records = batch.map((p) => p.record);
      const work = previous.catch(() => undefined).then(() => commit(records));
      previous = work;
      try {
        await withDeadline(work, options.deadlineMs, 'the audit trail');
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    flushing = undefined;
  }

  return {
    append(entry: NewAuditRecord) {
      const record: AuditRecord = { ...entry, source: stream };
      return new Promise<void>((resolve, reject) => {
        pending.push({ record, resolve, reject });
        flushing ??= flush();
      });
    },
    async drain() {
      while (flushing !== undefined) await flushing;
    },
  };
}
