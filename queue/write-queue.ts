/**
 * The producer side of the write pipeline, per the catalog's `writeJobs`: one queue per EHR
 * connection. Both roles produce: the API for new writes, workers to wake the next write of a lane.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ContinuumError } from '../src/domain/errors';
import type { Operation } from '../src/domain/operation';
import type { WriteQueue } from '../src/domain/ports';
import { writeJobs, type WriteJobData } from './catalog';
import { createCatalogQueue, type CatalogQueue } from './job-catalog';
import { jobCountsOf } from './job-counts';
import type { QueueJobCounts } from '../src/domain/metrics';

export type { WriteJobData };

export interface BullWriteQueueOptions {
  readonly connection: Redis;
  readonly prefix: string;
  readonly enqueueTimeoutMs: number;
  readonly connections: readonly string[];
}

export interface BullWriteQueue extends WriteQueue {
  readonly queues: ReadonlyMap<string, Queue<WriteJobData>>;
  /** Jobs by state in each connection's queue. */
  jobCounts(): Promise<readonly QueueJobCounts[]>;
  close(): Promise<void>;
}

export function createBullWriteQueue(options: BullWriteQueueOptions): BullWriteQueue {
  const producers = new Map<string, CatalogQueue<WriteJobData>>(
    options.connections.map((name) => [
      name,
      createCatalogQueue(writeJobs, {
        connection: options.connection,
        prefix: options.prefix,
        partition: name,
        requestDeadlineMs: options.enqueueTimeoutMs,
      }),
    ]),
  );
  const producerFor = (op: Operation): CatalogQueue<WriteJobData> => {
    const producer = producers.get(op.connection);
    if (!producer)
      throw new ContinuumError('VALIDATION', { detail: `unknown EHR connection ${op.connection}` });
    return producer;
  };

  return {
    queues: new Map([...producers].map(([name, p]) => [name, p.queue])),

    async enqueue(op, enqueueOptions) {
      const producer = producerFor(op);
      if (enqueueOptions?.fresh === true) await producer.queue.remove(op.id);
      await producer.enqueue(op.kind, { operationId: op.id });
    },

    async jobPresence(op) {
      const job = await producerFor(op).queue.getJob(op.id);
      if (!job) return 'missing';
      const state = await job.getState();
      if (state === 'failed') return 'exhausted';
      if (state === 'completed' || state === 'unknown') {
        // A finished job under this id would make `add` a no-op: clear it so the op can be queued.
        await job.remove();
        return 'missing';
      }
      return 'present';
    },

    jobCounts: () => Promise.all([...producers.values()].map((p) => jobCountsOf(p.queue))),

    async close() {
      await Promise.all([...producers.values()].map((p) => p.queue.close()));
    },
  };
}
