/**
 * The recent past of each EHR connection's write pipeline, sampled every few seconds: what the
 * operator console draws (backlog and drain over the last hour). Counts and states only: a sample
 * holds no PHI.
 */
import type { BreakerState } from './ports';

export interface StatusSample {
  /** Start of the sampling interval, epoch milliseconds: one sample per interval and connection. */
  readonly at: number;
  /** Writes queued or being sent. */
  readonly backlog: number;
  readonly failed: number;
  readonly needsReview: number;
  /** Writes finished per second over the minute before the sample. */
  readonly drainPerSecond: number;
  readonly breaker: BreakerState;
}

/** Where samples are kept; shared by every API process, so one sample per interval wins. */
export interface StatusHistoryStore {
  /**
   * Keeps the sample unless one for its interval (`sample.at`) is already there; then drops what is
   * older than `keepMs` before `sample.at` and all but the newest `maxSamples`. True when stored.
   */
  record(
    connection: string,
    sample: StatusSample,
    bounds: { readonly keepMs: number; readonly maxSamples: number },
  ): Promise<boolean>;
  /** Samples taken at or after `sinceMs`, oldest first. */
  read(connection: string, sinceMs: number): Promise<readonly StatusSample[]>;
}
