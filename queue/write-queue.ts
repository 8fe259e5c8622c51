/**
 * The producer side of the write pipeline: one BullMQ queue per EHR connection, so a sick EHR is
 * paused alone. Jobs carry only the operation id, and the job id is the operation id, so enqueueing
 * one operation twice is a no-op. `add` is raced against a deadline because an ioredis command can
 * hang for a whole Redis outage even with the offline queue off.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ContinuumError } from '../src/domain/errors';
import type { Operation } from '../src/domain/operation';
import type { WriteQueue } from '../src/domain/ports';
import { withDeadline } from '../src/domain/with-deadline';
import { WRITE_ATTEMPTS } from './retry-policy';

export interface WriteJobData {
  readonly operationId: string;
}

export function writeQueueName(connection: string): string {
  return `writes-${connection}`;
}

export interface BullWriteQueueOptions {
  readonly connection: Redis;
  readonly prefix: string;
  readonly enqueueTimeoutMs: number;
  readonly connections: readonly string[];
}

export interface BullWriteQueue extends WriteQueue {
  readonly queues: ReadonlyMap<string, Queue<WriteJobData>>;
  close(): Promise<void>;
}

export function createBullWriteQueue(options: BullWriteQueueOptions): BullWriteQueue {
  const queues = new Map<string, Queue<WriteJobData>>();
  for (const name of options.connections) {
    queues.set(
      name,
      new Queue<WriteJobData>(writeQueueName(name), {
        connection: options.connection,
        prefix: options.prefix,
        skipWaitingForReady: true,
      }),
    );
  }
  const queueFor = (op: Operation): Queue<WriteJobData> => {
    const queue = queues.get(op.connection);
    if (!queue) throw new ContinuumError('VALIDATION', { detail: `unknown EHR connection ${op.connection}` });
    return queue;
  };

  return {
    queues,

    async enqueue(op, enqueueOptions) {
      const queue = queueFor(op);
      const add = async (): Promise<void> => {
        if (enqueueOptions?.fresh === true) await queue.remove(op.id);
        await queue.add(
          op.kind,
          { operationId: op.id },
          {
            jobId: op.id,
            attempts: WRITE_ATTEMPTS,
            backoff: { type: 'continuum' },
            removeOnComplete: { age: 24 * 3600, count: 50000 },
            removeOnFail: { age: 14 * 24 * 3600 },
          },
        );
      };
      await withDeadline(add(), options.enqueueTimeoutMs, 'the write queue');
    },

    async jobPresence(op) {
      const job = await queueFor(op).getJob(op.id);
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

    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
