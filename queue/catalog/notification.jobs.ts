/**
 * Accepted EHR notifications: one queue for every connection (jobs carry references only, never
 * PHI), the job id derived from the connection and event id so a notification is queued once
 * however often it arrives.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { QueuedNotification } from '../../src/domain/ports';
import type { JobSpec } from '../job-catalog';
import { retryDelayMs } from '../retry-policy';

export const notificationJobs: JobSpec<QueuedNotification> = {
  queueName: () => 'ehr-notifications',
  schema: z.object({
    connection: z.string().min(1),
    eventId: z.string().min(1),
    refs: z.array(z.object({ resourceType: z.string(), id: z.string(), version: z.string().optional() })),
    rereadSince: z.string().optional(),
    receivedAt: z.string(),
  }),
  jobId: (data) => createHash('sha256').update(`${data.connection}\n${data.eventId}`).digest('hex'),
  // Days of retries at most, as for writes: an EHR that notified is usually up, but Redis may not be.
  attempts: 200,
  backoffMs: (attemptsMade) => retryDelayMs(attemptsMade, undefined),
  removeOnComplete: { age: 24 * 3600, count: 10000 },
  removeOnFail: { age: 14 * 24 * 3600 },
  // The EHR is waiting for the 2xx, and retries on a 503.
  enqueueDeadline: 'request',
};
