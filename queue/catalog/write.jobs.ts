/**
 * Writes: one queue per EHR connection, so a sick EHR is paused alone. A job carries only the
 * operation id (the sealed record holds the rest) and its id is the operation id, so enqueueing
 * one operation twice is a no-op.
 */
import { z } from 'zod';
import type { JobSpec } from '../job-catalog';
import { retryDelayMs, WRITE_ATTEMPTS } from '../retry-policy';

export interface WriteJobData {
  readonly operationId: string;
}

export const writeJobs: JobSpec<WriteJobData> = {
  queueName: (connection) => `writes-${connection ?? ''}`,
  schema: z.object({ operationId: z.string().min(1) }),
  jobId: (data) => data.operationId,
  attempts: WRITE_ATTEMPTS,
  backoffMs: retryDelayMs,
  removeOnComplete: { age: 24 * 3600, count: 50000 },
  removeOnFail: { age: 14 * 24 * 3600 },
  enqueueDeadline: 'request',
};
