/** The audit trail in Redis: one writer's appends, every reader's queries, the chain check and trim. */
import type { Redis } from 'ioredis';
import type { AuditRecord, AuditStore, StoredAuditRecord } from '../../src/domain/audit';
import { auditChain } from './audit-chain';
import { auditKeys } from './audit-keys';
import { createAuditReader } from './audit-reader';
import { createAuditVerifier } from './audit-verifier';
import { createAuditWriter } from './audit-writer';

export interface RedisAuditStoreOptions {
  /** Reads, verification and trimming. */
  readonly redis: Redis;
  /** Appends: a connection without an offline queue, so recording fails fast with Redis away. */
  readonly appendRedis: Redis;
  /** The gateway's hash-tagged key prefix. */
  readonly prefix: string;
  /** The data-at-rest key: the chain's links are keyed with a key derived from it. */
  readonly key: Buffer;
  readonly blind: (value: string) => string;
  /** This writer's stream name: unique per process. */
  readonly stream: string;
  readonly retentionMs: number;
  readonly tenantsFor: (record: AuditRecord) => readonly string[];
  readonly deadlineMs: number;
  readonly onStored?: (records: readonly StoredAuditRecord[]) => void;
}

export function createRedisAuditStore(
  options: RedisAuditStoreOptions,
): AuditStore & { drain(): Promise<void> } {
  const keys = auditKeys(options.prefix);
  const chain = auditChain(options.key);
  const writer = createAuditWriter({
    redis: options.appendRedis,
    keys,
    chain,
    blind: options.blind,
    stream: options.stream,
    retentionMs: options.retentionMs,
    tenantsFor: options.tenantsFor,
    deadlineMs: options.deadlineMs,
    ...(options.onStored !== undefined ? { onStored: options.onStored } : {}),
  });
  const reader = createAuditReader({ redis: options.redis, keys, blind: options.blind });
  const verifier = createAuditVerifier({
    redis: options.redis,
    keys,
    chain,
    retentionMs: options.retentionMs,
  });
  return {
    append: (record) => writer.append(record),
    drain: () => writer.drain(),
    query: (query) => reader.query(query),
    scan: (since, until) => reader.scan(since, until),
    verify: () => verifier.verify(),
    trim: () => verifier.trim(),
    readAfter: (cursor, limit) => reader.readAfter(cursor, limit),
    cursor: (name) => reader.cursor(name),
    saveCursor: (name, cursor) => reader.saveCursor(name, cursor),
  };
}
