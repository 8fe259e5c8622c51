/**
 * The job catalog's machinery: every queue is described once (`queue/catalog/*.jobs.ts`) by a
 * `JobSpec`, and producers and workers go through the helpers here, so attempts, backoff, removal,
 * the enqueue deadline, job-data validation and what a failure means are the same everywhere.
 */
import {
  Queue,
  RateLimitError,
  UnrecoverableError,
  Worker,
  type Job,
  type JobsOptions,
  type WorkerOptions,
} from 'bullmq';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { ContinuumError } from '../src/domain/errors';
import type { Logger } from '../src/domain/ports';
import { asContinuumError, decideFailure } from '../src/domain/failure-policy';
import { withDeadline } from '../src/domain/with-deadline';

export interface JobSpec<Data> {
  /** The queue's name; queues kept per connection or per subscriber take it as `partition`. */
  queueName(partition?: string): string;
  /** What a job carries; parsed again when the job is processed (Redis is not a type system). */
  readonly schema: z.ZodType<Data>;
  /** The BullMQ job id: the same logical job enqueued twice is one job. */
  jobId(data: Data): string;
  /** Attempts before the job is parked as failed; 1 for queues that retry by rate-limiting. */
  readonly attempts: number;
  /** Milliseconds before attempt `attemptsMade + 1`; `retryAfterSeconds` when the far side said. */
  backoffMs(attemptsMade: number, retryAfterSeconds: number | undefined): number;
  readonly removeOnComplete: JobsOptions['removeOnComplete'];
  readonly removeOnFail: JobsOptions['removeOnFail'];
  /**
   * How long an enqueue may wait for Redis: `request` when a caller is waiting for the answer (the
   * configured `queue.enqueueTimeoutMs`, past which the API answers 503), else a fixed time.
   */
  readonly enqueueDeadline: 'request' | { readonly ms: number };
}

/** BullMQ's name for the custom backoff every catalog queue uses. */
const BACKOFF_TYPE = 'catalog';

/** What a producer may set per job, beyond the spec: the write queue's urgency. */
export type PerJobOptions = Pick<JobsOptions, 'priority'>;

function jobOptions<Data>(spec: JobSpec<Data>, data: Data, perJob: PerJobOptions): JobsOptions {
  return {
    ...perJob,
    jobId: spec.jobId(data),
    attempts: spec.attempts,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: spec.removeOnComplete,
    removeOnFail: spec.removeOnFail,
  };
}

export interface CatalogQueue<Data> {
  readonly queue: Queue<Data>;
  /** Adds the job, or throws once `deadlineMs` passed: an ioredis command can hang for a whole outage. */
  enqueue(name: string, data: Data, perJob?: PerJobOptions): Promise<void>;
}

export function createCatalogQueue<Data>(
  spec: JobSpec<Data>,
  options: {
    readonly connection: Redis;
    readonly prefix: string;
    readonly partition?: string;
    /** `queue.enqueueTimeoutMs`: the deadline of specs whose enqueue a caller waits for. */
    readonly requestDeadlineMs: number;
  },
): CatalogQueue<Data> {
  // BullMQ's generics want its own data-type shape; the catalog's schema is the real contract.
  const queue = new Queue<Data>(spec.queueName(options.partition), {
    connection: options.connection,
    prefix: options.prefix,
    skipWaitingForReady: true,
  });
  const deadlineMs = spec.enqueueDeadline === 'request' ? options.requestDeadlineMs : spec.enqueueDeadline.ms;
  return {
    queue,
    async enqueue(name, data, perJob = {}) {
      const parsed = spec.schema.parse(data);
      await withDeadline(
        (queue as Queue).add(name, parsed, jobOptions(spec, parsed, perJob)),
        deadlineMs,
        `the ${queue.name} queue`,
      );
    },
  };
}

/** The job's data as the catalog says it must be; a job that is not is parked, never retried. */
export function parseJobData<Data>(spec: JobSpec<Data>, job: Job): Data {
  const result = spec.schema.safeParse(job.data);
  if (!result.success) throw new UnrecoverableError(`job ${job.id ?? '?'} of ${job.queueName} is malformed`);
  return result.data;
}

/** Worker settings that make BullMQ use the spec's backoff, honouring a `Retry-After` on the error. */
function catalogSettings<Data>(spec: JobSpec<Data>): {
  backoffStrategy: (attemptsMade: number, type?: string, error?: Error) => number;
} {
  return {
    backoffStrategy: (attemptsMade, _type, error) =>
      spec.backoffMs(attemptsMade, (error as Partial<ContinuumError> | undefined)?.retryAfterSeconds),
  };
}

export interface FailureHooks {
  /** Pause every worker of this queue for `ms` (BullMQ's queue-level rate limit). */
  pauseQueue(ms: number): Promise<void>;
  /** Called before a retry is scheduled: e.g. feed the circuit breaker. */
  onRetry?(error: ContinuumError): Promise<void>;
}

/**
 * Turns a processor's failure into BullMQ's terms through the one failure policy: pause (no
 * attempt spent), retry with backoff, or stop for good. Always throws.
 */
export async function failJob(caught: unknown, hooks: FailureHooks): Promise<never> {
  // BullMQ's own verdicts (stop, wait without spending an attempt) pass through as they are.
  if (caught instanceof UnrecoverableError || caught instanceof RateLimitError) throw caught;
  const error = asContinuumError(caught, 'unexpected failure while processing a job');
  const decision = decideFailure(error);
  switch (decision.action) {
    case 'pause':
    case 'hold':
      await hooks.pauseQueue(decision.ms);
      throw Worker.RateLimitError();
    case 'retry':
      await hooks.onRetry?.(error);
      throw error;
    case 'final':
      throw new UnrecoverableError(`${error.code}: ${error.detail ?? error.title}`);
  }
}

export interface CatalogWorkerOptions<Data, Result> {
  readonly redis: Redis;
  readonly prefix: string;
  readonly partition?: string;
  readonly concurrency: number;
  /** The job's work, on data already checked against the spec's schema; `token` is the job's lock. */
  process(data: Data, job: Job<Data, Result>, token: string | undefined): Promise<Result>;
  readonly hooks: FailureHooks;
  readonly logger: Logger;
  /** BullMQ options beyond the catalog's (a rate limiter, job locks and stalled-job handling). */
  readonly extra?: Pick<
    WorkerOptions,
    'limiter' | 'maxStalledCount' | 'lockDuration' | 'lockRenewTime' | 'stalledInterval'
  >;
}

/**
 * A worker for one catalog queue: job data parsed by the spec, the spec's backoff, and every
 * failure turned into pause, retry or stop by the one failure policy. It never swallows an error:
 * a swallowed error is work that silently never happens.
 */
export function createCatalogWorker<Data, Result>(
  spec: JobSpec<Data>,
  options: CatalogWorkerOptions<Data, Result>,
): Worker<Data, Result> {
  const worker = new Worker<Data, Result>(
    spec.queueName(options.partition),
    async (job: Job<Data, Result>, token?: string) => {
      const data = parseJobData(spec, job);
      try {
        return await options.process(data, job, token);
      } catch (error) {
        return failJob(error, options.hooks);
      }
    },
    {
      connection: options.redis,
      prefix: options.prefix,
      concurrency: options.concurrency,
      ...options.extra,
      settings: catalogSettings(spec),
    },
  );
  worker.on('error', (error) => {
    options.logger.error({ err: error, queue: worker.name }, 'worker error');
  });
  return worker;
}
