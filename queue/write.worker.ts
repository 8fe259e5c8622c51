/**
 * Consumes one connection's write queue. The processor translates between the use case and BullMQ:
 * return = done, throw = retry with our backoff, `RateLimitError` = wait without spending an
 * attempt (breaker open, EHR throttling). It never catches and logs: a swallowed error is a write
 * that silently never happens.
 */
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../src/domain/ports';
import { RetryLaterError, type ProcessOutcome } from '../src/use-cases/process-operation';
import type { CircuitBreaker } from './circuit-breaker';
import { retryDelayMs, WRITE_ATTEMPTS } from './retry-policy';
import { writeQueueName, type WriteJobData } from './write-queue';

export interface WriteWorkerOptions {
  readonly connectionName: string;
  /** A dedicated connection with `maxRetriesPerRequest: null`. */
  readonly redis: Redis;
  readonly prefix: string;
  readonly concurrency: number;
  /** Writes per second this connection's EHR is sent at most (0 = no cap). */
  readonly maxWritesPerSecond: number;
  readonly breaker: CircuitBreaker;
  readonly probeIntervalMs: number;
  /** Pauses every worker of this connection's queue (BullMQ's queue-level rate limit). */
  readonly pauseQueue: (ms: number) => Promise<void>;
  readonly process: (operationId: string) => Promise<ProcessOutcome>;
  /** A job that used every attempt: the operation must be marked failed and its lane moved on. */
  readonly giveUp: (operationId: string) => Promise<void>;
  /** Every final outcome, for drain-rate figures. */
  readonly onFinished?: (outcome: ProcessOutcome) => void;
  readonly logger: Logger;
}

function retryAfterOf(error: Error | undefined): number | undefined {
  const value = (error as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return typeof value === 'number' ? value : undefined;
}

export function createWriteWorker(options: WriteWorkerOptions): Worker<WriteJobData, ProcessOutcome> {
  const { breaker } = options;
  const pauseMs = options.probeIntervalMs;
  const worker: Worker<WriteJobData, ProcessOutcome> = new Worker<WriteJobData, ProcessOutcome>(
    writeQueueName(options.connectionName),
    async (job: Job<WriteJobData, ProcessOutcome>) => {
      if (!(await breaker.allowsRequests())) {
        // No request storm against a dead EHR: the whole queue waits, no attempt is spent.
        await options.pauseQueue(pauseMs);
        throw Worker.RateLimitError();
      }
      try {
        const outcome = await options.process(job.data.operationId);
        // Any answer from the EHR, even a refusal, shows it is up.
        if (outcome !== 'skipped') await breaker.recordSuccess();
        options.onFinished?.(outcome);
        return outcome;
      } catch (error) {
        if (error instanceof RetryLaterError && error.error.code === 'EHR_UNAVAILABLE') {
          if (error.error.extra?.throttled === true) {
            await options.pauseQueue((error.retryAfterSeconds ?? 1) * 1000);
            throw Worker.RateLimitError();
          }
          await breaker.recordFailure();
        }
        throw error;
      }
    },
    {
      connection: options.redis,
      prefix: options.prefix,
      concurrency: options.concurrency,
      ...(options.maxWritesPerSecond > 0
        ? { limiter: { max: options.maxWritesPerSecond, duration: 1000 } }
        : {}),
      // A worker dying mid-write is survivable (the use case is idempotent); a job that kills
      // workers again and again is parked as failed for an operator instead of looping.
      maxStalledCount: 3,
      settings: {
        backoffStrategy: (attemptsMade, _type, error) => retryDelayMs(attemptsMade, retryAfterOf(error)),
      },
    },
  );
  worker.on('failed', (job, error) => {
    if (job && job.attemptsMade >= WRITE_ATTEMPTS) {
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
  worker.on('error', (error) => {
    options.logger.error({ err: error, connection: options.connectionName }, 'write worker error');
  });
  return worker;
}
