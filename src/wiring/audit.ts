/** The audit trail of this process: its own chained stream in Redis, and the optional file copy. */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { createAuditFileSink } from '../../adapters/audit/file-sink';
import { NO_METRICS, type Metrics } from '../domain/metrics';
import { createRedisAuditStore } from '../../adapters/redis/audit-store';
import type { Config } from '../config/load-config';
import type { AuditRecord, AuditStore } from '../domain/audit';
import type { Logger } from '../domain/ports';
import type { Closeables } from './closeables';

export interface AuditWiring {
  /** False only when `audit.enabled` is off: nothing is recorded, PHI routes are not held. */
  readonly enabled: boolean;
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

/**
 * The records a connection's EHR gets a copy of: those naming the connection, and those of a
 * tenant whose default connection it is (an API record names a connection only when the caller did).
 */
export function recordsAboutConnection(config: Config, connection: string): (record: AuditRecord) => boolean {
  const defaults = new Map(Object.entries(config.tenants).map(([name, t]) => [name, t.connections[0]]));
  return (record) =>
    record.connection !== undefined
      ? record.connection === connection
      : record.tenant !== undefined && defaults.get(record.tenant) === connection;
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
    readonly metrics?: Metrics;
  },
): AuditWiring {
  const metrics = options.metrics ?? NO_METRICS;
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
    onStored: (records) => {
      for (const record of records) {
        sink?.write(record);
        metrics.auditRecord('written');
      }
    },
  });
  // Before the Redis connections close: records still waiting are stored, and copied.
  options.closeables.add('queues', 'audit trail', async () => {
    await store.drain();
    await sink?.flush();
  });
  if (!config.audit.enabled) {
    options.logger.warn({}, 'the audit trail is off (audit.enabled: false): PHI accesses are not recorded');
    return { enabled: false, store: { ...store, append: () => Promise.resolve() }, blind: options.blind };
  }
  return {
    enabled: true,
    store: {
      ...store,
      append: (record) =>
        store.append(record).catch((error: unknown) => {
          metrics.auditRecord('failed');
          throw error;
        }),
    },
    blind: options.blind,
  };
}
