/** The audit trail in Redis: one writer's appends, every reader's queries, the chain check and trim. */
import type { Redis } from 'ioredis';
import type { AuditStore } from '../../src/domain/audit';
import { auditChain } from './audit-chain';
import { auditKeys } from './audit-keys';
import { createAuditReader } from './audit-reader';
import { createAuditVerifier } from './audit-verifier';
import { createAuditWriter, type AuditWriterOptions } from './audit-writer';

export interface RedisAuditStoreOptions extends Omit<AuditWriterOptions, 'redis' | 'keys' | 'chain'> {
  /** Reads, verification and trimming. */
  readonly redis: Redis;
  /** Appends: a connection without an offline queue, so recording fails fast with Redis away. */
  readonly appendRedis: Redis;
  /** The gateway's hash-tagged key prefix. */
  readonly prefix: string;
  /** The data-at-rest key: the chain's links are keyed with a key derived from it. */
  readonly key: Buffer;
}

export function createRedisAuditStore(
  options: RedisAuditStoreOptions,
): AuditStore & { drain(): Promise<void> } {
  const { redis, appendRedis, prefix, key, ...writing } = options;
  const keys = auditKeys(prefix);
  const chain = auditChain(key);
  const writer = createAuditWriter({ ...writing, redis: appendRedis, keys, chain });
  const reader = createAuditReader({ redis, keys, blind: writing.blind });
  const verifier = createAuditVerifier({ redis, keys, chain, retentionMs: writing.retentionMs });
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
