/** The durable queue of site closure runs and its worker, per the catalog's `closureJobs`. */
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ClosureRuns } from '../src/domain/closure';
import type { Logger } from '../src/domain/ports';
import { closureJobs, type ClosureJob } from './catalog';
import { createCatalogQueue, createCatalogWorker } from './job-catalog';

export interface BullClosureRuns extends ClosureRuns {
  readonly queue: Queue<ClosureJob>;
  close(): Promise<void>;
}

export function createBullClosureRuns(options: {
  readonly connection: Redis;
  readonly prefix: string;
  readonly enqueueTimeoutMs: number;
}): BullClosureRuns {
  const producer = createCatalogQueue(closureJobs, {
    connection: options.connection,
    prefix: options.prefix,
    requestDeadlineMs: options.enqueueTimeoutMs,
  });
  return {
    queue: producer.queue,
    start: (closureId) => producer.enqueue('closure', { closureId }),
    close: () => producer.queue.close(),
  };
}

export function createClosureWorker(options: {
  readonly redis: Redis;
  readonly prefix: string;
  readonly process: (closureId: string) => Promise<unknown>;
  readonly lockDurationMs: number;
  readonly lockRenewMs: number;
  readonly stalledIntervalMs: number;
  readonly logger: Logger;
}): Worker<ClosureJob> {
  const worker = createCatalogWorker(closureJobs, {
    redis: options.redis,
    prefix: options.prefix,
    // Closures are rare and each queues hundreds of writes: one at a time per process is plenty.
    concurrency: 2,
    process: (data) => options.process(data.closureId),
    hooks: { pauseQueue: () => Promise.resolve() },
    logger: options.logger,
    extra: {
      lockDuration: options.lockDurationMs,
      lockRenewTime: options.lockRenewMs,
      stalledInterval: options.stalledIntervalMs,
      // A run is idempotent: a worker lost mid-run hands it to another, however often that happens.
      maxStalledCount: 1000,
    },
  });
  worker.on('failed', (job, error) => {
    options.logger.warn(
      { closureId: job?.data.closureId, attempts: job?.attemptsMade, err: error },
      'closure run interrupted; it resumes from its checkpoint',
    );
  });
  return worker;
}
