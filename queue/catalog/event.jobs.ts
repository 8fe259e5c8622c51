/**
 * Call-center events: one queue per subscriber, one job per event (its id is the event id, so a
 * second publish of one event is a no-op). Retries happen by rate-limiting the queue, so that later
 * events wait behind a failing one: BullMQ's attempts stay at one and the job counts its own.
 */
import { z } from 'zod';
import { EVENT_TYPES, type CallCenterEvent } from '../../src/domain/events';
import type { JobSpec } from '../job-catalog';
import { retryDelayMs } from '../retry-policy';

export interface EventJob {
  readonly event: CallCenterEvent;
  readonly attempts: number;
  /** When the first delivery failed: the give-up clock starts there. */
  readonly firstTriedAt?: string;
}

/** How long an event is retried before it is dead-lettered: a subscriber down over a weekend still gets it. */
export const EVENT_GIVE_UP_AFTER_MS = 3 * 86_400_000;

export const eventJobs: JobSpec<EventJob> = {
  queueName: (subscriber) => `events-${subscriber ?? ''}`,
  schema: z.object({
    event: z.object({
      id: z.string().min(1),
      type: z.enum(EVENT_TYPES),
      timestamp: z.string(),
      data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
      tenant: z.string().optional(),
    }),
    attempts: z.number().int().min(0),
    firstTriedAt: z.string().optional(),
  }),
  jobId: (data) => data.event.id,
  attempts: 1,
  backoffMs: retryDelayMs,
  removeOnComplete: { age: 7 * 86400, count: 10000 },
  // Dead letters stay until an operator replays them.
  removeOnFail: false,
  enqueueDeadline: { ms: 5000 },
};
