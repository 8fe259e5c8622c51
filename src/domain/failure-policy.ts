/**
 * What a failed job does next, decided from the error's code alone, for every queue: the use case
 * records the matching operation status and the queue's worker turns it into BullMQ's terms. One
 * table, so a write, an EHR notification and an event never disagree about what an outage is.
 */
import { ContinuumError, type ErrorCode } from './errors';
import type { MappingFailure, ReviewDiff } from './operation';

export type FailureDecision =
  /** Transient (EHR down, timeout, Redis blip): try again after a backoff; spends an attempt. */
  | { readonly action: 'retry' }
  /** The EHR asked for fewer requests: the whole queue waits, no attempt is spent. */
  | { readonly action: 'pause'; readonly ms: number }
  /**
   * The connection cannot send anything until its credentials work again: the whole queue waits
   * and the try does not count at all, not even on the receipt (it never reached the write).
   */
  | { readonly action: 'hold'; readonly ms: number }
  /** Trying again gives the same answer: stop now. */
  | { readonly action: 'final'; readonly status: 'failed' | 'needs-review' };

/** A write that cannot be applied as it stands: a person must look at it (the diff says why). */
export class NeedsReviewError extends ContinuumError {
  constructor(readonly diff: ReviewDiff) {
    super('CONFLICT', { detail: `${diff.reason}: ${diff.fields.map((f) => f.element).join(', ')}` });
    this.name = 'NeedsReviewError';
  }
}

/** A mapping profile rule threw on this record; `mapping` says where (names only, never values). */
export class MappingFailedError extends ContinuumError {
  constructor(
    readonly mapping: MappingFailure,
    cause: unknown,
  ) {
    super('MAPPING_FAILED', {
      detail: `mapping profile ${mapping.profile}: ${mapping.file} ${mapping.field} failed on this record (${mapping.errorClass})`,
      cause,
    });
    this.name = 'MappingFailedError';
  }
}

/**
 * A deterministic failure of our own side (a profile expression that throws on this record, a value
 * the mapping cannot store) is not an outage: retrying for days would only hold the patient's later
 * writes back. It goes to review at once, with its PHI-free cause on the receipt.
 */
const NEEDS_REVIEW: ReadonlySet<ErrorCode> = new Set(['MAPPING_FAILED', 'VALIDATION']);

/** A throttled queue waits this long when the EHR gave no `Retry-After`. */
const DEFAULT_PAUSE_MS = 1000;
/**
 * A queue whose credentials were refused looks again this often; the connection's own check (and
 * its periodic authenticated probe) keeps it waiting for as long as the refusal lasts.
 */
const CREDENTIALS_HOLD_MS = 5000;

export function decideFailure(error: ContinuumError): FailureDecision {
  if (error instanceof NeedsReviewError || NEEDS_REVIEW.has(error.code))
    return { action: 'final', status: 'needs-review' };
  if (error.code === 'EHR_CREDENTIALS_REJECTED') return { action: 'hold', ms: CREDENTIALS_HOLD_MS };
  if (error.code === 'EHR_THROTTLED')
    return { action: 'pause', ms: (error.retryAfterSeconds ?? 0) * 1000 || DEFAULT_PAUSE_MS };
  return error.retryable ? { action: 'retry' } : { action: 'final', status: 'failed' };
}

/** Any thrown value as our error: a foreign one is unexpected, hence INTERNAL (retried). */
export function asContinuumError(caught: unknown, detail: string): ContinuumError {
  return caught instanceof ContinuumError
    ? caught
    : new ContinuumError('INTERNAL', { cause: caught, detail });
}
