/**
 * Delivery of call-center events: one BullMQ queue per subscriber, one job per event, worked one
 * at a time across every process (global concurrency 1), so a subscriber hears events in the order
 * they were published. A failed attempt does not let later events overtake it: the job goes back to the
 * head of its queue and the queue waits out the backoff (BullMQ's rate limit), for up to three
 * days; then, or when the subscriber refuses the event for good, it is dead-lettered (failed) for
 * an operator to replay. A subscriber answering 410 Gone is disabled: nothing more is sent to it
 * until an operator enables it again.
 */
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DeliveryError, type EventDeliverer } from '../src/domain/event-deliverer';
import type { CallCenterEvent } from '../src/domain/events';
import type { EventOperations, EventPublisher, Logger } from '../src/domain/ports';
import { ContinuumError } from '../src/domain/errors';
import { EVENT_GIVE_UP_AFTER_MS, eventJobs, type EventJob } from './catalog/event.jobs';
import { createCatalogQueue, parseJobData, type CatalogQueue } from './job-catalog';
import { jobCountsOf } from './job-counts';
import { NO_METRICS, type Metrics, type QueueJobCounts } from '../src/domain/metrics';

export type { EventJob };

export interface Subscriber {
  readonly name: string;
  readonly types: readonly string[] | undefined;
  /** Whether the event is this subscriber's to hear (its tenant's connections and writes). */
  readonly receives: (event: CallCenterEvent) => boolean;
  readonly deliverer: EventDeliverer;
}

export interface EventDelivery extends EventPublisher, EventOperations {
  /** Each subscriber's queue, for the queue dashboard. */
  readonly queues: ReadonlyMap<string, Queue<EventJob>>;
  workers(options: { readonly redis: Redis; readonly logger: Logger }): Worker<EventJob>[];
  /** Jobs by state in each subscriber's queue. */
  jobCounts(): Promise<readonly QueueJobCounts[]>;
  close(): Promise<void>;
}

export function createEventDelivery(options: {
  readonly connection: Redis;
  readonly prefix: string;
  readonly subscribers: readonly Subscriber[];
  readonly logger: Logger;
  readonly metrics?: Metrics;
}): EventDelivery {
  const { connection, prefix } = options;
  const metrics = options.metrics ?? NO_METRICS;
  const disabledKey = (name: string): string => `${prefix}:subscriber-disabled:${name}`;
  const producers = new Map<string, CatalogQueue<EventJob>>(
    options.subscribers.map((s) => [
      s.name,
      createCatalogQueue(eventJobs, { connection, prefix, partition: s.name, requestDeadlineMs: 0 }),
    ]),
  );
  const queues = new Map([...producers].map(([name, p]) => [name, p.queue]));
  const producerOf = (name: string): CatalogQueue<EventJob> => {
    const producer = producers.get(name);
    if (producer === undefined) throw new Error(`no subscriber ${name}`);
    return producer;
  };
  const queueOf = (name: string): Queue<EventJob> => producerOf(name).queue;
  let concurrencySet: Promise<unknown> | undefined;

  return {
    queues,

    async publish(event) {
      concurrencySet ??= Promise.all([...queues.values()].map((q) => q.setGlobalConcurrency(1)));
      await concurrencySet;
      await Promise.all(
        options.subscribers
          .filter((s) => (s.types === undefined || s.types.includes(event.type)) && s.receives(event))
          .map((s) => producerOf(s.name).enqueue(event.type, { event, attempts: 0 })),
      );
    },

    workers({ redis, logger }) {
      return options.subscribers.map((subscriber) => {
        const queue = queueOf(subscriber.name);
        const log = logger.child({ component: 'event-delivery', subscriber: subscriber.name });
        const worker: Worker<EventJob> = new Worker<EventJob>(
          eventJobs.queueName(subscriber.name),
          async (job: Job<EventJob>) => {
            const data = parseJobData(eventJobs, job);
            if ((await redis.exists(disabledKey(subscriber.name))) === 1) return 'subscriber disabled';
            try {
              await subscriber.deliverer.deliver(data.event);
              metrics.eventDelivery(
                subscriber.name,
                'delivered',
                (Date.now() - Date.parse(data.event.timestamp)) / 1000,
              );
              return 'delivered';
            } catch (error) {
              const failure =
                error instanceof DeliveryError
                  ? error
                  : new DeliveryError('retry', 'delivery failed unexpectedly');
              if (failure.outcome === 'gone') {
                await redis.set(
                  disabledKey(subscriber.name),
                  JSON.stringify({ at: new Date().toISOString(), reason: failure.message }),
                );
                log.warn({ status: failure.status }, 'subscriber gone (410): disabled');
                metrics.eventDelivery(subscriber.name, 'dead-lettered');
                throw new UnrecoverableError(failure.message);
              }
              if (failure.outcome === 'rejected') {
                log.warn({ status: failure.status, eventId: data.event.id }, 'subscriber refused an event');
                metrics.eventDelivery(subscriber.name, 'dead-lettered');
                throw new UnrecoverableError(failure.message);
              }
              const firstTriedAt = data.firstTriedAt ?? new Date().toISOString();
              if (Date.now() - Date.parse(firstTriedAt) > EVENT_GIVE_UP_AFTER_MS) {
                metrics.eventDelivery(subscriber.name, 'dead-lettered');
                throw new UnrecoverableError(
                  `gave up after ${data.attempts + 1} attempts: ${failure.message}`,
                );
              }
              const attempts = data.attempts + 1;
              await job.updateData({ ...data, attempts, firstTriedAt });
              const delay = eventJobs.backoffMs(attempts, failure.retryAfterSeconds);
              log.info(
                { status: failure.status, attempts, delayMs: delay },
                'subscriber unavailable; will retry',
              );
              metrics.eventDelivery(subscriber.name, 'retried');
              // Back to the head of the queue, which waits: later events must not overtake this one.
              await queue.rateLimit(delay);
              throw Worker.RateLimitError();
            }
          },
          { connection: redis, prefix, concurrency: 1 },
        );
        worker.on('error', (error) => {
          log.error({ err: error }, 'event worker error');
        });
        return worker;
      });
    },

    async states() {
      return Promise.all(
        options.subscribers.map(async (s) => {
          const queue = queueOf(s.name);
          const [counts, disabled] = await Promise.all([
            queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed'),
            connection.get(disabledKey(s.name)),
          ]);
          return {
            name: s.name,
            disabled:
              disabled === null ? undefined : (JSON.parse(disabled) as { at: string; reason: string }),
            waiting:
              (counts.waiting ?? 0) +
              (counts.delayed ?? 0) +
              (counts.active ?? 0) +
              (counts.prioritized ?? 0),
            deadLetters: counts.failed ?? 0,
          };
        }),
      );
    },

    async replay(name) {
      const queue = queues.get(name);
      if (queue === undefined) throw new ContinuumError('NOT_FOUND', { detail: `no subscriber ${name}` });
      await connection.del(disabledKey(name));
      const failed = await queue.getFailed(0, 10000);
      // Oldest first, as they happened.
      failed.sort((a, b) => a.timestamp - b.timestamp);
      for (const job of failed) {
        await job.updateData({ event: job.data.event, attempts: 0 });
        await job.retry('failed');
      }
      return failed.length;
    },

    jobCounts: () => Promise.all([...queues.values()].map((q) => jobCountsOf(q))),

    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
