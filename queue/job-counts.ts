/** A BullMQ queue's jobs by state, for metrics: one Redis round trip per queue, whatever its size. */
import type { Queue } from 'bullmq';
import type { QueueJobCounts } from '../src/domain/metrics';

const STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'failed',
  'completed',
] as const;

export async function jobCountsOf(queue: Queue): Promise<QueueJobCounts> {
  const counts = await queue.getJobCounts(...STATES);
  return {
    queue: queue.name,
    counts: Object.fromEntries(STATES.map((state) => [state, counts[state] ?? 0])),
  };
}
