/**
 * Consumes one connection's write queue. The processor translates between the use case and BullMQ
 * through the catalog: return = done; a failure goes through the one failure policy (pause without
 * spending an attempt, retry with backoff, or stop). It never catches and logs: a swallowed error is
 * a write that silently never happens.
 */
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DrainLimiter, DrainPermit } from '../src/domain/drain-limit';
import type { ProcessOutcome } from '../src/domain/operation';
import type { CircuitBreaker, Logger } from '../src/domain/ports';
import { writeJobs, type WriteJobData } from './catalog';
import { createCatalogWorker } from './job-catalog';

export interface WriteWorkerOptions {
  readonly connectionName: string;
  /** A dedicated connection with `maxRetriesPerRequest: null`. */
  readonly redis: Redis;
  readonly prefix: string;
  readonly concurrency: number;
  /** Writes per second this connection's EHR is sent at most (0 = no cap). */
  readonly maxWritesPerSecond: number;
  /** How many writes may be in the EHR at once, shared by every process; absent: `concurrency`. */
  readonly drainLimit?: DrainLimiter;
  readonly breaker: CircuitBreaker;
  /** While the breaker is open, how long the queue waits before looking at it again. */
  readonly breakerRecheckMs: number;
  /** Job locks and the stalled check: how soon a dead worker's writes go to another (see config). */
  readonly lockDurationMs: number;
  readonly lockRenewMs: number;
  readonly stalledIntervalMs: number;
  /** False while the EHR refuses the connection's credentials: nothing is sent, nothing is spent. */
  readonly credentialsAccepted: () => Promise<boolean>;
  /** How long the queue waits before looking at the credentials state again. */
  readonly credentialsRecheckMs: number;
  /** Pauses every worker of this connection's queue (BullMQ's queue-level rate limit). */
  readonly pauseQueue: (ms: number) => Promise<void>;
  readonly process: (operationId: string) => Promise<ProcessOutcome>;
  /** A job that used every attempt: the operation must be marked failed and its lane moved on. */
  readonly giveUp: (operationId: string) => Promise<void>;
  /** Every final outcome, for drain-rate figures. */
  readonly onFinished?: (outcome: ProcessOutcome) => void;
  readonly logger: Logger;
}

export function createWriteWorker(options: WriteWorkerOptions): Worker<WriteJobData, ProcessOutcome> {
  const { breaker } = options;
  /** Throws BullMQ's rate-limit verdict while nothing can be sent: the job keeps its place, no attempt is spent. */
  const mayRun = async (): Promise<void> => {
    if (!(await breaker.allowsRequests())) {
      // No request storm against a dead EHR: the whole queue waits, no attempt is spent. Short
      // waits: a worker sleeps a wait out even when the probe finds the EHR back meanwhile.
      await options.pauseQueue(options.breakerRecheckMs);
      throw Worker.RateLimitError();
    }
    if (!(await options.credentialsAccepted())) {
      // Every request would meet the same refusal: wait as a whole queue.
      await options.pauseQueue(options.credentialsRecheckMs);
      throw Worker.RateLimitError();
    }
  };
  /**
   * Jobs past the limit wait here, most urgent first: BullMQ hands them over in priority order,
   * and `job.priority` (not the options it was added with) is what a lane's raise changed.
   */
  const waitForPermit = async (job: Job<WriteJobData, ProcessOutcome>): Promise<DrainPermit | undefined> => {
    if (options.drainLimit === undefined) return undefined;
    try {
      return await options.drainLimit.acquire(job.priority);
    } catch (error) {
      // The process is stopping: the job goes back to wait for another worker, no attempt spent.
      options.logger.info(
        { operationId: job.data.operationId, err: error },
        'write handed back: the worker stops',
      );
      throw Worker.RateLimitError();
    }
  };
  const worker = createCatalogWorker<WriteJobData, ProcessOutcome>(writeJobs, {
    redis: options.redis,
    prefix: options.prefix,
    partition: options.connectionName,
    concurrency: options.concurrency,
    async process({ operationId }, job, token) {
      await mayRun();
      const permit = await waitForPermit(job);
      try {
        if (permit !== undefined) {
          // The EHR may have gone away while this write waited for its permit.
          await mayRun();
          // And the job may no longer be this worker's: a lock that lapsed while it waited (Redis
          // away for longer than the lock) gave the job to another worker, which sends it.
          if (token === undefined || (await job.extendLock(token, options.lockDurationMs)) !== 1) {
            options.logger.warn(
              { operationId },
              'write left to the worker that holds its job now: this one lost the lock while it waited',
            );
            throw Worker.RateLimitError();
          }
        }
        const outcome = await options.process(operationId);
        // Any answer from the EHR, even a refusal, shows it is up.
        if (outcome !== 'skipped') await breaker.recordSuccess();
        options.onFinished?.(outcome);
        return outcome;
      } finally {
        await permit?.release();
      }
    },
    hooks: {
      pauseQueue: options.pauseQueue,
      onRetry: async (failure) => {
        if (failure.code === 'EHR_UNAVAILABLE') await breaker.recordFailure();
      },
    },
    logger: options.logger,
    extra: {
      ...(options.maxWritesPerSecond > 0
        ? { limiter: { max: options.maxWritesPerSecond, duration: 1000 } }
        : {}),
      // A worker dying mid-write is survivable (the use case is idempotent); a job that kills
      // workers again and again is parked as failed for an operator instead of looping. Ten, not
      // three: with short locks, a Redis pause of a few seconds counts as a stall too.
      maxStalledCount: 10,
      lockDuration: options.lockDurationMs,
      lockRenewTime: options.lockRenewMs,
      stalledInterval: options.stalledIntervalMs,
    },
  });
  worker.on('failed', (job, error) => {
    if (job && job.attemptsMade >= writeJobs.attempts) {
      options.logger.error(
        { operationId: job.data.operationId, err: error },
        'write gave up after all attempts',
      );
      options.giveUp(job.data.operationId).catch((giveUpError: unknown) => {
        options.logger.error(
          { operationId: job.data.operationId, err: giveUpError },
          'could not record the give-up',
        );
      });
    }
  });
  return worker;
}
