/**
 * Site closure runs: one job per closure (its id is the job id, so starting a closure twice runs
 * it once), carrying the closure id only. A run is idempotent end to end, so a job taken over
 * after a crash, or retried after the EHR failed mid-search, resumes from the record's checkpoint.
 */
import { z } from 'zod';
import type { JobSpec } from '../job-catalog';

export interface ClosureJob {
  readonly closureId: string;
}

/** Finding needs the EHR: retried every few seconds to half a minute, for as long as it is down. */
const FIRST_RETRY_MS = 1000;
const RETRY_CAP_MS = 30_000;

export const closureJobs: JobSpec<ClosureJob> = {
  queueName: () => 'crisis-closures',
  schema: z.object({ closureId: z.string().regex(/^clo_[a-f0-9]{24}$/) }),
  jobId: (data) => data.closureId,
  // A three-day outage at the 30 s cap; a run that still fails stays visible as a failed job.
  attempts: 10_000,
  backoffMs: (attemptsMade, retryAfterSeconds) => {
    if (retryAfterSeconds !== undefined) return Math.min(retryAfterSeconds * 1000, RETRY_CAP_MS);
    const exponential = Math.min(RETRY_CAP_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attemptsMade - 1));
    return Math.round(exponential * (0.5 + Math.random() * 0.5));
  },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 14 * 24 * 3600 },
  enqueueDeadline: 'request',
};
