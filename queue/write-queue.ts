/**
 * The producer side of the write pipeline, per the catalog's `writeJobs`: one queue per EHR
 * connection. Both roles produce: the API for new writes, workers to wake the next write of a lane.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ContinuumError } from '../src/domain/errors';
import { urgencyOf, type Operation } from '../src/domain/operation';
import type { WriteQueue } from '../src/domain/ports';
import type { Urgency } from '../src/domain/urgency';
import { writeJobs, type WriteJobData } from './catalog';
import { createCatalogQueue, type CatalogQueue } from './job-catalog';
import { jobCountsOf } from './job-counts';
import type { QueueJobCounts } from '../src/domain/metrics';
import { WRITE_PRIORITY } from './write-priority';

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
  const producerOf = (connection: string): CatalogQueue<WriteJobData> => {
    const producer = producers.get(connection);
    if (!producer) throw new ContinuumError('VALIDATION', { detail: `unknown EHR connection ${connection}` });
    return producer;
  };
  const producerFor = (op: Operation): CatalogQueue<WriteJobData> => producerOf(op.connection);

  /** Waiting jobs per priority: 0 counts jobs queued before priorities, which BullMQ serves first. */
  async function waitingPerPriority(
    connection: string,
  ): Promise<{ readonly legacy: number; readonly urgent: number; readonly routine: number }> {
    const counts = await producerOf(connection).queue.getCountsPerPriority([
      0,
      WRITE_PRIORITY.urgent,
      WRITE_PRIORITY.routine,
    ]);
    return {
      legacy: counts['0'] ?? 0,
      urgent: counts[String(WRITE_PRIORITY.urgent)] ?? 0,
      routine: counts[String(WRITE_PRIORITY.routine)] ?? 0,
    };
  }

  async function raise(connection: string, operationId: string, urgency: Urgency): Promise<void> {
    const job = await producerOf(connection).queue.getJob(operationId);
    // Priority 0 (queued before priorities) is served first already.
    if (!job || job.priority === 0 || job.priority <= WRITE_PRIORITY[urgency]) return;
    try {
      // Waiting: it moves to its new place; in backoff or being sent: it keeps the priority for
      // when BullMQ puts it back in line.
      await job.changePriority({ priority: WRITE_PRIORITY[urgency] });
    } catch (error) {
      // Finished and removed meanwhile: its lane's next job is enqueued at the lane's urgency.
      if ((await producerOf(connection).queue.getJob(operationId)) !== undefined) throw error;
    }
  }

  return {
    queues: new Map([...producers].map(([name, p]) => [name, p.queue])),

    async enqueue(op, urgency, enqueueOptions) {
      const producer = producerFor(op);
      if (enqueueOptions?.fresh === true) await producer.queue.remove(op.id);
      await producer.enqueue(op.kind, { operationId: op.id }, { priority: WRITE_PRIORITY[urgency] });
      // Another process may have queued the job first, at the routine priority of its moment.
      if (urgency === 'urgent') await raise(op.connection, op.id, urgency);
    },

    raise,

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

    async jobsAhead(op) {
      const queue = producerFor(op).queue;
      const [rank, active] = await Promise.all([
        options.connection.zrank(queue.toKey('prioritized'), op.id),
        options.connection.lpos(queue.toKey('active'), op.id),
      ]);
      if (active !== null) return 0;
      const waiting = await waitingPerPriority(op.connection);
      if (rank !== null) return waiting.legacy + rank;
      return waiting.legacy + waiting.urgent + (urgencyOf(op) === 'urgent' ? 0 : waiting.routine);
    },

    async waitingByUrgency(connection) {
      const waiting = await waitingPerPriority(connection);
      return { urgent: waiting.urgent, routine: waiting.routine + waiting.legacy };
    },

    jobCounts: () => Promise.all([...producers.values()].map((p) => jobCountsOf(p.queue))),

    async close() {
      await Promise.all([...producers.values()].map((p) => p.queue.close()));
    },
  };
}
