import { RateLimitError, UnrecoverableError, Worker } from 'bullmq';
import { ContinuumError } from '../../src/domain/errors';
import { decideFailure, MappingFailedError, NeedsReviewError } from '../../src/domain/failure-policy';
import { failJob } from '../../queue/job-catalog';
import { writeJobs } from '../../queue/catalog';

const mappingFailure = new MappingFailedError(
  { profile: 'default', file: 'patient.yaml', field: 'write.address.template', errorClass: 'TypeError' },
  new TypeError('x'),
);

describe('decideFailure', () => {
  it('retries what an outage causes and stops on what trying again cannot change', () => {
    expect(decideFailure(new ContinuumError('EHR_UNAVAILABLE'))).toEqual({ action: 'retry' });
    expect(decideFailure(new ContinuumError('QUEUE_UNAVAILABLE'))).toEqual({ action: 'retry' });
    expect(decideFailure(new ContinuumError('INTERNAL'))).toEqual({ action: 'retry' });
    expect(decideFailure(new ContinuumError('EHR_REJECTED'))).toEqual({ action: 'final', status: 'failed' });
    expect(decideFailure(new ContinuumError('NOT_FOUND'))).toEqual({ action: 'final', status: 'failed' });
    expect(decideFailure(new ContinuumError('SLOT_TAKEN'))).toEqual({ action: 'final', status: 'failed' });
  });

  it('sends a mapping or validation failure, and a conflict with a diff, to review at once', () => {
    expect(decideFailure(mappingFailure)).toEqual({ action: 'final', status: 'needs-review' });
    expect(decideFailure(new ContinuumError('VALIDATION'))).toEqual({
      action: 'final',
      status: 'needs-review',
    });
    const diff = { reason: 'changed meanwhile', fields: [] };
    expect(decideFailure(new NeedsReviewError(diff as never))).toEqual({
      action: 'final',
      status: 'needs-review',
    });
  });

  it('pauses for a throttling EHR for as long as it asked, one second when it did not say', () => {
    expect(decideFailure(new ContinuumError('EHR_THROTTLED', { retryAfterSeconds: 7 }))).toEqual({
      action: 'pause',
      ms: 7000,
    });
    expect(decideFailure(new ContinuumError('EHR_THROTTLED'))).toEqual({ action: 'pause', ms: 1000 });
  });

  it('holds a connection whose credentials were refused: never final, never a spent attempt', () => {
    const refused = new ContinuumError('EHR_CREDENTIALS_REJECTED', { extra: { ehrStatus: 401 } });
    expect(decideFailure(refused)).toEqual({ action: 'hold', ms: 5000 });
  });
});

describe('failJob', () => {
  const paused: number[] = [];
  const hooks = {
    pauseQueue: (ms: number) => {
      paused.push(ms);
      return Promise.resolve();
    },
  };

  it('pauses the queue and spends no attempt when throttled', async () => {
    await expect(
      failJob(new ContinuumError('EHR_THROTTLED', { retryAfterSeconds: 3 }), hooks),
    ).rejects.toBeInstanceOf(RateLimitError);
    expect(paused).toEqual([3000]);
  });

  it('waits as a whole queue on refused credentials: no attempt spent, no breaker fed, never failed', async () => {
    const retried: string[] = [];
    const before = paused.length;
    await expect(
      failJob(new ContinuumError('EHR_CREDENTIALS_REJECTED'), {
        ...hooks,
        onRetry: (error) => {
          retried.push(error.code);
          return Promise.resolve();
        },
      }),
    ).rejects.toBeInstanceOf(RateLimitError);
    expect(paused.slice(before)).toEqual([5000]);
    expect(retried).toEqual([]);
  });

  it('rethrows a transient error for BullMQ to back off, and stops a final one for good', async () => {
    const outage = new ContinuumError('EHR_UNAVAILABLE');
    await expect(failJob(outage, hooks)).rejects.toBe(outage);
    await expect(failJob(mappingFailure, hooks)).rejects.toBeInstanceOf(UnrecoverableError);
  });

  it("passes BullMQ's own verdicts through untouched", async () => {
    const wait = Worker.RateLimitError();
    await expect(failJob(wait, hooks)).rejects.toBe(wait);
    const stop = new UnrecoverableError('stop');
    await expect(failJob(stop, hooks)).rejects.toBe(stop);
  });
});

describe('the write job spec', () => {
  it('refuses job data that is not what the catalog says', () => {
    expect(writeJobs.schema.safeParse({ operationId: 'op_1' }).success).toBe(true);
    expect(writeJobs.schema.safeParse({ operationId: '' }).success).toBe(false);
    expect(writeJobs.schema.safeParse({}).success).toBe(false);
    expect(writeJobs.jobId({ operationId: 'op_1' })).toBe('op_1');
    expect(writeJobs.queueName('sandbox')).toBe('writes-sandbox');
  });
});
