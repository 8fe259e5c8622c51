/**
 * What the gateway counts and times for its operators (exported to Prometheus at `/metrics`).
 * Every label value is drawn from a bounded set: connection and subscriber names from config,
 * route-table keys, status codes and the enums below. Never a patient id, an operation id, a phone
 * number or a URL: a scrape is read by people and systems that may not see PHI.
 */
import type { BreakerState } from './ports';
import type { CredentialsState } from './connection-credentials';
import type { Budget } from './rate-limits';
import type { PhoneSearchQuery } from './ehr-capabilities';

/** The FHIR interaction an EHR call performed. */
export type EhrInteraction =
  'read' | 'vread' | 'search' | 'search-pages' | 'create' | 'update' | 'patch' | 'capabilities';

/** How an EHR call ended, from the error taxonomy (never the EHR's own text). */
export type EhrCallOutcome =
  | 'ok'
  | 'not-found'
  | 'conflict'
  | 'rejected'
  | 'throttled'
  | 'timeout'
  | 'unavailable'
  | 'credentials-rejected'
  | 'error';

/**
 * A read that needed the continuity cache found an answer there (`hit`) or not (`miss`); a
 * `fallback` is a read answered from the cache instead of the EHR, because it was down or slow.
 */
export type CacheReadResult = 'hit' | 'miss';
export type CacheFallbackReason = 'unavailable' | 'slow';

/**
 * `accepted`: queued by the webhook; `duplicate`: seen before; `applied`/`partial`: the worker
 * brought the copies up to date (in part, after a gap too large to re-read); `failed`: the worker's
 * try failed and will be retried.
 */
export type NotificationOutcome = 'accepted' | 'duplicate' | 'applied' | 'partial' | 'failed';

/** `dead-lettered`: given up on (refused for good, gone, or retried for days), replayable. */
export type EventDeliveryOutcome = 'delivered' | 'retried' | 'dead-lettered';

/** `refused`: too many failed attempts from the caller; `held`: the patient's verification is on hold. */
export type VerificationOutcome =
  'verified' | 'no-match' | 'ambiguous' | 'too-many-candidates' | 'refused' | 'held' | 'error';

/**
 * A client's request budget; the verification limits per caller and per patient; a client's cap on
 * queued writes; the write store's memory reserve.
 */
export type RefusedLimit = Budget | 'verify-caller' | 'verify-patient' | 'queued-writes' | 'storage-full';

export type AuditWriteOutcome = 'written' | 'failed';

/**
 * What answered a caller lookup: `index`: reads by id of the patients the phone index knows, no
 * phone search; `search`: a phone search (the index missed, or a patient no longer had the number);
 * `cache`: the continuity cache, the EHR being down or slow.
 */
export type LookupPath = 'index' | 'search' | 'cache';

/** Why the EHR was searched by phone: to answer a lookup, or in the background after an index answer. */
export type PhoneSearchPurpose = 'lookup' | 'recheck';

/** A write the worker finished: what drains the backlog. */
export type WriteOutcome = 'succeeded' | 'failed' | 'needs-review';

/** Events as they happen: each call is cheap (in-process counters), never awaits and never throws. */
export interface Metrics {
  /** `route` is the route-table key (`GET /v1/patients/:id`) or `unmatched`. */
  /** `aborted`: the connection closed before the answer was sent (the client gave up, or shutdown cut it). */
  httpRequest(route: string, status: number | 'aborted', seconds: number): void;
  ehrCall(connection: string, interaction: EhrInteraction, outcome: EhrCallOutcome, seconds: number): void;
  cacheRead(connection: string, result: CacheReadResult): void;
  cacheFallback(connection: string, reason: CacheFallbackReason): void;
  ehrNotification(connection: string, outcome: NotificationOutcome): void;
  /** `lagSeconds`: from the event's timestamp to its delivery (delivered only). */
  eventDelivery(subscriber: string, outcome: EventDeliveryOutcome, lagSeconds?: number): void;
  verification(outcome: VerificationOutcome): void;
  rateLimitRefusal(limit: RefusedLimit): void;
  auditRecord(outcome: AuditWriteOutcome): void;
  writeFinished(connection: string, outcome: WriteOutcome): void;
  lookupAnswered(connection: string, path: LookupPath): void;
  phoneSearch(connection: string, query: PhoneSearchQuery, purpose: PhoneSearchPurpose): void;
}

/** For places and tests that do not report. */
export const NO_METRICS: Metrics = {
  httpRequest: () => undefined,
  ehrCall: () => undefined,
  cacheRead: () => undefined,
  cacheFallback: () => undefined,
  ehrNotification: () => undefined,
  eventDelivery: () => undefined,
  verification: () => undefined,
  rateLimitRefusal: () => undefined,
  auditRecord: () => undefined,
  writeFinished: () => undefined,
  lookupAnswered: () => undefined,
  phoneSearch: () => undefined,
};

/** One BullMQ queue's jobs by state (`waiting`, `active`, `delayed`, `failed`, ...). */
export interface QueueJobCounts {
  /** The queue's name (`writes-<connection>`, `events-<subscriber>`, `notifications`). */
  readonly queue: string;
  readonly counts: Readonly<Record<string, number>>;
}

/** Per EHR connection, what a scrape reports of the write pipeline. */
export interface ConnectionSnapshot {
  readonly connection: string;
  readonly operations: {
    readonly queued: number;
    readonly sending: number;
    readonly failed: number;
    readonly needsReview: number;
  };
  /** 0 when nothing waits. */
  readonly oldestPendingAgeSeconds: number;
  readonly drainPerSecond: number;
  /** The adaptive drain limit and the permits in use; absent where the limit is not adaptive. */
  readonly drainLimit?: { readonly limit: number; readonly inFlight: number };
  /** Patients with writes waiting on this connection. */
  readonly lanes: number;
  readonly breaker: BreakerState;
  readonly credentials: CredentialsState;
}

/** The state a scrape reads from Redis, shared by every process: the same figures /v1/status shows. */
export interface PipelineSnapshot {
  readonly connections: readonly ConnectionSnapshot[];
  readonly queues: readonly QueueJobCounts[];
  readonly subscribers: readonly { readonly name: string; readonly deadLetters: number }[];
  readonly redisMemory: { readonly usedBytes: number; readonly limitBytes: number | null };
}
