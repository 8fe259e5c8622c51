/**
 * The write store's limits from `storage:`: each client's cap on waiting writes, and Redis's
 * memory read on an interval against its limit and the reserve kept for draining.
 */
import { totalmem } from 'node:os';
import type { Redis } from 'ioredis';
import { createMemoryGauge } from '../../adapters/redis/memory-gauge';
import type { Config } from '../config/load-config';
import type { OperationOwner } from '../domain/operation';
import type { Logger } from '../domain/ports';
import type { StorageLimits } from '../domain/storage-limits';
import type { Closeables } from './closeables';

/** A client's own cap, else its tenant's, else everyone's. */
export function queuedWritesCap(storage: Config['storage'], owner: OperationOwner): number {
  return (
    storage.perClient[owner.clientId] ?? storage.perTenant[owner.tenant] ?? storage.queuedWritesPerClient
  );
}

/**
 * The embedded Redis's `maxmemory` when `storage.maxMemoryBytes` is not set: half the machine's
 * memory. Without one, `noeviction` Redis grows until the kernel kills it (and with it what was
 * not yet on disk); the other half leaves room for the gateway and for the copy-on-write of an
 * AOF rewrite.
 */
export function embeddedMaxMemoryBytes(config: Config): number {
  return config.storage.maxMemoryBytes ?? Math.floor(totalmem() / 2);
}

export async function buildStorageLimits(
  config: Config,
  /** The connection reads go on (INFO memory). */
  redis: Redis,
  logger: Logger,
  closeables: Closeables,
): Promise<StorageLimits> {
  const gauge = createMemoryGauge({
    redis,
    intervalMs: config.storage.readIntervalMs,
    maxMemoryBytes: config.storage.maxMemoryBytes,
    headroomBytes: config.storage.headroomBytes,
    headroomPercent: config.storage.headroomPercent,
    logger,
  });
  const first = await gauge.refresh();
  if (first.readAt !== null && first.limitBytes === null) {
    logger.warn(
      {},
      'Redis has no maxmemory and storage.maxMemoryBytes is not set: writes are not refused before ' +
        'Redis runs out of memory. Set either to keep a reserve for queued writes to drain.',
    );
  }
  gauge.start();
  closeables.add('intake', 'storage gauge', () => {
    gauge.stop();
    return Promise.resolve();
  });
  return {
    memory: () => gauge.current(),
    queuedWritesCap: (owner) => queuedWritesCap(config.storage, owner),
  };
}
