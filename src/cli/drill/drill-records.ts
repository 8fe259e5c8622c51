/** What the drill records while it runs: references, figures and statuses, never PHI. */

export const CALL_KINDS = [
  'lookup',
  'verify',
  'summary',
  'slots',
  'book',
  'correct-demographics',
  'callback',
] as const;
export type CallKind = (typeof CALL_KINDS)[number];

export const WRITE_CALLS: ReadonlySet<CallKind> = new Set(['book', 'correct-demographics', 'callback']);

export interface CallRecord {
  /** Milliseconds from the drill's start, when the call was sent. */
  readonly atMs: number;
  readonly phase: string;
  readonly kind: CallKind;
  /** HTTP status; 0 when no answer came (connection refused, timeout). */
  readonly status: number;
  readonly latencyMs: number;
  /** `freshness.source` of a read: `ehr` or `cache`. */
  readonly source: string | undefined;
  /** The problem code of a refusal, e.g. `EHR_UNAVAILABLE`. */
  readonly code: string | undefined;
  /** Set on a write the gateway accepted. */
  readonly operationId: string | undefined;
}

export interface BacklogSample {
  readonly atMs: number;
  /** Writes queued or being sent, over every connection. */
  readonly backlog: number;
  readonly breaker: string;
  readonly oldestPendingAgeSeconds: number | null;
}
