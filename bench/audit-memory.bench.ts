/**
 * Redis memory per audit record, as the gateway stores one (its stream entry and its four index
 * entries: the tenant's, the patient's, the client's, the agent's): `used_memory` before and after
 * appending BENCH_AUDIT_RECORDS patient reads through the audit store, under a prefix of its own on
 * the benchmark's Redis, removed afterwards. Sizes a Redis for `audit.retentionDays`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedisAuditStore } from '../adapters/redis/audit-store';
import { createRecordCipher } from '../adapters/redis/record-cipher';
import { fmt, parseRedisInfo } from './bench-support';

export interface AuditMemoryResult {
  readonly records: number;
  readonly bytesPerRecord: number;
}

async function usedMemory(redis: Redis): Promise<number> {
  return parseRedisInfo(await redis.info('memory')).used_memory ?? NaN;
}

export async function benchAuditMemory(redis: Redis, records: number): Promise<AuditMemoryResult> {
  const prefix = `{bench-audit-${randomUUID().slice(0, 8)}}`;
  const key = randomBytes(32);
  const cipher = createRecordCipher(key);
  const store = createRedisAuditStore({
    redis,
    appendRedis: redis,
    prefix,
    key,
    blind: (v) => cipher.blind(v),
    stream: `bench-host-${process.pid}-a1b2c3`,
    retentionMs: 90 * 86_400_000,
    tenantsFor: (r) => [r.tenant ?? 'default'],
    deadlineMs: 10_000,
  });
  const before = await usedMemory(redis);
  // Appended 200 at a time, as concurrent requests would be: the writer batches them.
  for (let i = 0; i < records; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, records - i) }, (_v, j) =>
        store.append({
          recorded: new Date().toISOString(),
          kind: 'patient.read',
          action: 'R',
          subtype: 'read',
          outcome: 0,
          result: '200',
          channel: 'api',
          client: 'cl_0123456789abcdef01234567',
          tenant: 'default',
          agent: `agent-${(i + j) % 50}`,
          patients: [`Patient/pat-${String((i + j) % 5000).padStart(4, '0')}`],
          requestId: randomUUID(),
          route: 'GET /v1/patients/:id',
        }),
      ),
    );
  }
  const after = await usedMemory(redis);
  for (;;) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length === 0) break;
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  }
  return { records, bytesPerRecord: (after - before) / records };
}

export function reportAuditMemory(r: AuditMemoryResult): string {
  const perDayAtTen = (r.bytesPerRecord * 10 * 86_400) / 1e9;
  return `audit trail memory: ${fmt(r.bytesPerRecord, 0)} bytes per record in Redis (${r.records} patient reads, stream entry and four index entries); at 10 PHI accesses a second, ${fmt(perDayAtTen, 2)} GB a day, ${fmt(perDayAtTen * 90, 0)} GB for 90 days`;
}
