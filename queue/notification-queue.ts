/**
 * The durable queue of accepted EHR notifications: one BullMQ queue for all connections (jobs
 * carry references only, never PHI), the job id derived from the connection and event id so a
 * notification is queued once however often it arrives.
 */
import { createHash } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger, NotificationQueue, QueuedNotification } from '../src/domain/ports';
import { retryDelayMs } from './retry-policy';

export const NOTIFICATION_QUEUE = 'ehr-notifications';
/** Days of retries at most, as for writes: an EHR that notified is usually up, but Redis may not be. */
const ATTEMPTS = 200;

export interface BullNotificationQueue extends NotificationQueue {
  close(): Promise<void>;
}

export function createBullNotificationQueue(options: {
  readonly connection: Redis;
  readonly prefix: string;
}): BullNotificationQueue {
  const queue = new Queue<QueuedNotification>(NOTIFICATION_QUEUE, {
    connection: options.connection,
    prefix: options.prefix,
    skipWaitingForReady: true,
  });
  return {
    async enqueue(notification) {
      const jobId = createHash('sha256')
        .update(`${notification.connection}\n${notification.eventId}`)
        .digest('hex');
      await queue.add('notification', notification, {
        jobId,
        attempts: ATTEMPTS,
        backoff: { type: 'continuum' },
        removeOnComplete: { age: 24 * 3600, count: 10000 },
        removeOnFail: { age: 14 * 24 * 3600 },
      });
    },
    close: () => queue.close(),
  };
}

export function createNotificationWorker(options: {
  readonly redis: Redis;
  readonly prefix: string;
  readonly concurrency: number;
  readonly process: (notification: QueuedNotification) => Promise<unknown>;
  readonly logger: Logger;
}): Worker<QueuedNotification> {
  const worker = new Worker<QueuedNotification>(
    NOTIFICATION_QUEUE,
    async (job: Job<QueuedNotification>) => options.process(job.data),
    {
      connection: options.redis,
      prefix: options.prefix,
      concurrency: options.concurrency,
      settings: { backoffStrategy: (attemptsMade) => retryDelayMs(attemptsMade, undefined) },
    },
  );
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
  worker.on('error', (error) => {
    options.logger.error({ err: error }, 'notification worker error');
  });
  return worker;
}
