/** The CLI's own audit stream: administrative acts run from a shell are recorded like API calls. */
import { userInfo } from 'node:os';
import type { Redis } from 'ioredis';
import { createRedisAuditStore } from '../../adapters/redis/audit-store';
import { createRecordCipher, loadOrCreateKey } from '../../adapters/redis/record-cipher';
import type { Config } from '../config/load-config';
import type { AuditStore } from '../domain/audit';
import { auditSourceName, tenantsForRecord } from '../wiring/audit';

/** Who ran the command, as the operating system knows them. */
export function cliUser(): string {
  try {
    return `os:${userInfo().username}`;
  } catch {
    return 'os:unknown';
  }
}

export function openCliAudit(config: Config, redis: Redis, prefix: string): AuditStore {
  const key = loadOrCreateKey(config.encryption.key, config.dataDir);
  const cipher = createRecordCipher(key);
  return createRedisAuditStore({
    redis,
    appendRedis: redis,
    prefix,
    key,
    blind: (value) => cipher.blind(value),
    stream: `cli-${auditSourceName()}`,
    retentionMs: config.audit.retentionDays * 86_400_000,
    tenantsFor: tenantsForRecord(config),
    deadlineMs: 10_000,
  });
}
