/** The durable queue of accepted EHR notifications and its worker, per the catalog's `notificationJobs`. */
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger, NotificationQueue, QueuedNotification } from '../src/domain/ports';
import { notificationJobs } from './catalog';
import { createCatalogQueue, createCatalogWorker } from './job-catalog';
import { jobCountsOf } from './job-counts';
import type { QueueJobCounts } from '../src/domain/metrics';

export interface BullNotificationQueue extends NotificationQueue {
  /** The queue itself, for the queue dashboard. */
  readonly queue: Queue<QueuedNotification>;
  /** Makes every worker of the queue wait (the EHR asked for fewer requests). */
  pause(ms: number): Promise<void>;
  jobCounts(): Promise<QueueJobCounts>;
  close(): Promise<void>;
}

export function createBullNotificationQueue(options: {
  readonly connection: Redis;
  readonly prefix: string;
  readonly enqueueTimeoutMs: number;
}): BullNotificationQueue {
  const producer = createCatalogQueue(notificationJobs, {
    connection: options.connection,
    prefix: options.prefix,
    requestDeadlineMs: options.enqueueTimeoutMs,
  });
  return {
    queue: producer.queue,
    enqueue: (notification) => producer.enqueue('notification', notification),
    pause: (ms) => producer.queue.rateLimit(ms),
    jobCounts: () => jobCountsOf(producer.queue),
    close: () => producer.queue.close(),
  };
}

export function createNotificationWorker(options: {
  readonly redis: Redis;
  readonly prefix: string;
  readonly concurrency: number;
  readonly process: (notification: QueuedNotification) => Promise<unknown>;
  /** Pauses every worker of the queue (BullMQ's queue-level rate limit). */
  readonly pauseQueue: (ms: number) => Promise<void>;
  readonly logger: Logger;
}): Worker<QueuedNotification> {
  const worker = createCatalogWorker(notificationJobs, {
    redis: options.redis,
    prefix: options.prefix,
    concurrency: options.concurrency,
    process: options.process,
    hooks: { pauseQueue: options.pauseQueue },
    logger: options.logger,
  });
  worker.on('failed', (job, error) => {
    options.logger.warn(
      {
        connection: job?.data.connection,
        eventId: job?.data.eventId,
        err: error,
        attempts: job?.attemptsMade,
      },
      'EHR notification not applied yet',
    );
  });
  return worker;
}
