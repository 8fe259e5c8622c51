/** The audit trail of this process: its own chained stream in Redis, and the optional file copy. */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { createAuditFileSink } from '../../adapters/audit/file-sink';
import { createRedisAuditStore } from '../../adapters/redis/audit-store';
import type { Config } from '../config/load-config';
import type { AuditRecord, AuditStore } from '../domain/audit';
import type { Logger } from '../domain/ports';
import type { Closeables } from './closeables';

export interface AuditWiring {
  readonly store: AuditStore;
  /** Keyed hash for searched numbers in records. */
  readonly blind: (value: string) => string;
}

/** Unique per process and readable in a record: host, pid and a random tail. */
export function auditSourceName(): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9.-]/g, '-')
    .slice(0, 40);
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** A record of a tenant is that tenant's; one of a connection (an EHR notification), every tenant's using it. */
export function tenantsForRecord(config: Config): (record: AuditRecord) => readonly string[] {
  const tenants = Object.entries(config.tenants);
  return (record) => {
    if (record.tenant !== undefined) return [record.tenant];
    if (record.connection === undefined) return [config.auth.adminTenant];
    const users = tenants.filter(([, t]) => t.connections.includes(record.connection ?? '')).map(([n]) => n);
    return users.length > 0 ? users : [config.auth.adminTenant];
  };
}

export function buildAudit(
  config: Config,
  options: {
    readonly client: Redis;
    readonly producer: Redis;
    readonly prefix: string;
    readonly key: Buffer;
    readonly blind: (value: string) => string;
    readonly logger: Logger;
    readonly closeables: Closeables;
    readonly source?: string;
  },
): AuditWiring {
  const file = config.audit.file;
  const sink =
    file === undefined
      ? undefined
      : createAuditFileSink({
          ...file,
          onError: (error) => {
            options.logger.error({ err: error }, 'audit file copy not written');
          },
        });
  const store = createRedisAuditStore({
    redis: options.client,
    appendRedis: options.producer,
    prefix: options.prefix,
    key: options.key,
    blind: options.blind,
    stream: options.source ?? auditSourceName(),
    retentionMs: config.audit.retentionDays * 86_400_000,
    tenantsFor: tenantsForRecord(config),
    deadlineMs: config.queue.enqueueTimeoutMs,
    ...(sink !== undefined
      ? {
          onStored: (records) => {
            for (const record of records) sink.write(record);
          },
        }
      : {}),
  });
  // Before the Redis connections close: records still waiting are stored, and copied.
  options.closeables.add('queues', 'audit trail', async () => {
    await store.drain();
    await sink?.flush();
  });
  return { store, blind: options.blind };
}
