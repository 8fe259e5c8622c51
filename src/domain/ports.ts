/**
 * Ports: what use cases need from the outside world. Adapters implement them; only the
 * composition root (src/main.ts) wires one to the other.
 */
import type { Urgency } from './urgency';
import type { CredentialsSnapshot } from './connection-credentials';
import type { DrainLimitSnapshot } from './drain-limit';
import type { CallCenterEvent } from './events';
import type { Bundle, CapabilityStatement, Resource } from './fhir';
import type { Operation, OperationOwner, OperationStatus } from './operation';
import type { SearchResult } from './search-result';

export interface RequestOptions {
  /** Give up after this many milliseconds: reads must answer inside IVR time budgets. */
  readonly deadlineMs?: number;
}

/** One operation of a JSON Patch document (RFC 6902). */
export interface JsonPatchOperation {
  readonly op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  readonly path: string;
  readonly value?: unknown;
  readonly from?: string;
}

export type SearchParams = Readonly<Record<string, string | readonly string[]>>;

export interface EhrClient {
  /** The connection name from config (`sandbox`, `epic`, ...): part of every lane and log. */
  readonly connection: string;
  read<T extends Resource>(resourceType: T['resourceType'], id: string, options?: RequestOptions): Promise<T>;
  /** One past version (`_history/<version>`): used to tell whose edit a conflict came from. */
  readVersion<T extends Resource>(
    resourceType: T['resourceType'],
    id: string,
    version: string,
    options?: RequestOptions,
  ): Promise<T>;
  /**
   * The first page of a search: for searches whose first page is all that matters (by business
   * identifier, candidate lists with their own limit). A list the user sees whole uses searchPages.
   */
  search<T extends Resource>(
    resourceType: T['resourceType'],
    params: SearchParams,
    options?: RequestOptions,
  ): Promise<readonly T[]>;
  /**
   * A search followed through its `next` links, up to `maxPages` (default 1), keeping what
   * `_include` brought along. Stopping before the last page (page limit, a next link on a host the
   * connection does not allow, a later page failing) is not an error: the result says `truncated`.
   */
  searchPages<T extends Resource>(
    resourceType: T['resourceType'],
    params: SearchParams,
    options?: RequestOptions & { readonly maxPages?: number },
  ): Promise<SearchResult<T>>;
  /** Create; with `ifNoneExist` (e.g. `identifier=sys|val`) the EHR returns the existing match. */
  create<T extends Resource>(
    resource: T,
    options?: RequestOptions & { readonly ifNoneExist?: string },
  ): Promise<{ readonly resource: T; readonly created: boolean }>;
  /** Update (PUT); with `ifMatchVersion` the EHR refuses it (CONFLICT) if the version moved. */
  update<T extends Resource>(
    resource: T,
    options?: RequestOptions & { readonly ifMatchVersion?: string },
  ): Promise<T>;
  /** PATCH with a JSON Patch document (RFC 6902); with `ifMatchVersion`, CONFLICT if the version moved. */
  patch<T extends Resource>(
    resourceType: T['resourceType'],
    id: string,
    operations: readonly JsonPatchOperation[],
    options?: RequestOptions & { readonly ifMatchVersion?: string },
  ): Promise<T>;
  /** GET /metadata: the readiness probe and the source of capability facts. */
  capabilities(options?: RequestOptions): Promise<CapabilityStatement>;
}

export type { Bundle };

export interface Clock {
  now(): Date;
}

/** E.164 number -> patient ids, per EHR connection; fed by every patient read and write. */
export interface PhoneIndex {
  remember(connection: string, patientId: string, e164Numbers: readonly string[]): Promise<void>;
  /** Drop numbers the patient no longer has, after a write or fresh read shows the change. */
  replace(connection: string, patientId: string, e164Numbers: readonly string[]): Promise<void>;
  find(connection: string, e164: string): Promise<readonly string[]>;
}

/** An attempt was taken, or refused because the caller used up its failed attempts for now. */
export type AttemptDecision =
  { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * Failed attempts per caller in a fixed window (identity verification). An attempt is reserved
 * before it is tried, so concurrent attempts cannot overrun the limit, and given back when it did
 * not fail. Keys may be phone numbers: implementations must not store them in clear.
 */
export interface AttemptLimiter {
  /** Take one attempt for this caller; refused while its failures in the window reach the limit. */
  reserve(callerKey: string): Promise<AttemptDecision>;
  /** The attempt did not fail (verified, or never answered): it does not count. */
  release(callerKey: string): Promise<void>;
  /**
   * The attempt was answered: a failure keeps counting, a success is given back. The same Redis
   * work either way, so the time an answer takes does not tell a right guess from a wrong one.
   */
  settle(callerKey: string, failed: boolean): Promise<void>;
}

/** Whether phone self-verification is held for any of some patients, and for how long yet. */
export type PatientHoldState =
  { readonly held: false } | { readonly held: true; readonly retryAfterSeconds: number };

/** A hold that one answered attempt started on a patient. */
export interface PatientHoldStarted {
  readonly patientKey: string;
  readonly heldForMs: number;
}

/**
 * Failed verifications per patient, across every caller and client: past the limit in a window,
 * verification of that patient is held for a while. As with callers, an attempt is reserved
 * against its patients before it is evaluated, so a burst of concurrent guesses cannot get past
 * the limit, and given back when it did not fail. Patient keys name the EHR connection and the
 * patient; implementations store only their keyed hash.
 */
export interface PatientHold {
  /**
   * Take one attempt against these patients. `enforce`: refused while any of them is held (or
   * attempts in flight already reach the limit); without it (an agent desk), only counted.
   */
  reserve(patientKeys: readonly string[], enforce: boolean): Promise<PatientHoldState>;
  /**
   * The reserved attempt is over: a failure keeps counting, and a patient whose failures reach
   * the limit is held (its count starts again); anything else is given back. The same Redis work
   * whether it failed or not.
   */
  settle(patientKeys: readonly string[], failed: boolean): Promise<readonly PatientHoldStarted[]>;
}

/** Structured logger port (pino-compatible subset). Never pass PHI: references and ids only. */
export interface Logger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
  debug(obj: Record<string, unknown>, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface InsertResult {
  readonly refused?: undefined;
  readonly operation: Operation;
  /** False when an earlier request with the same idempotency key already stored it. */
  readonly created: boolean;
  /** 1 when the operation is at the head of its lane (nothing before it waits on the patient). */
  readonly lanePosition: number;
  /** The operation at the head of its lane when it was stored (itself at position 1). */
  readonly laneHead?: string;
}

/**
 * Nothing was stored, not even the idempotency key: the insert reached the store after its deadline
 * (`late`), or the store could not take it and said so before running it (`unavailable`: not
 * connected, out of memory). An insert that was sent and then lost its answer is neither: the
 * store throws, and the outcome is unknown until the deadline has passed.
 */
export interface InsertRefused {
  /** `quota`: the operation's client already has `queuedWritesCap` writes waiting. */
  readonly refused: 'late' | 'unavailable' | 'quota';
  /** How far past the deadline, by the store's clock: a steady value hints at clock skew. */
  readonly lateByMs?: number;
  /** With `quota`: the client's writes waiting when it was refused. */
  readonly queuedWrites?: number;
}

export interface InsertOptions {
  /**
   * Refuse (`quota`) when the operation's client already has this many writes not yet final;
   * 0 or absent: no cap. Operations without an owner are never counted.
   */
  readonly queuedWritesCap?: number;
}

export interface OperationQuery {
  readonly connection: string;
  readonly status: OperationStatus;
  /** Only operations accepted at or after this time. */
  readonly since?: Date;
  readonly patientId?: string;
  /** Only operations this tenant accepted, and those accepted before clients existed. */
  readonly tenant?: string;
  readonly limit: number;
}

/**
 * Word that an operation reached a final status, from whichever process saved it. Delivery is
 * at most once (a dropped connection loses what was sent meanwhile), so a watcher still reads the
 * record now and then; the signal only spares it from reading all the time.
 */
export interface FinalSignals {
  /** Starts listening for this operation; resolves once signals sent from now on will be heard. */
  watch(operationId: string): Promise<FinalWatch>;
}

export interface FinalWatch {
  /** True at the first signal since the previous call (at once if one came meanwhile), false after `ms`. */
  next(ms: number): Promise<boolean>;
  /** Stops listening; a pending `next` resolves false. */
  stop(): void;
}

/**
 * Operations and their lanes. A lane (one patient on one connection) holds operation ids in
 * acceptance order; only its head is being worked on, which is what keeps writes in order.
 */
export interface OperationStore {
  /**
   * Store a new operation and append it to its lane, atomically. With an idempotency key, an
   * existing operation under that key wins: it is returned instead and nothing is stored. Past
   * `deadline`, by the store's own clock, nothing is stored at all: the caller has given up by
   * then and told its client so, and a late insert would join the lane behind newer writes.
   */
  insert(op: Operation, deadline: Date, options?: InsertOptions): Promise<InsertResult | InsertRefused>;
  get(id: string): Promise<Operation | undefined>;
  findByIdempotencyKey(connection: string, key: string): Promise<Operation | undefined>;
  save(op: Operation): Promise<void>;
  /** Save only if the stored status is still `expected` (compare-and-set); false otherwise. */
  saveIf(op: Operation, expected: OperationStatus): Promise<boolean>;
  /**
   * Called once an operation is final: removes it from the head of its lane and returns the id of
   * the next operation in that lane, if any. Idempotent (a second call for the same op is a no-op).
   */
  advanceLane(op: Operation): Promise<string | undefined>;
  /** Put a finished operation back at the tail of its lane (operator retry, replay). */
  requeue(op: Operation): Promise<{ readonly lanePosition: number }>;
  /**
   * The most urgent write still in the lane: its head's job is served at that urgency, so an urgent
   * write waiting behind a routine one of the same patient is not held up by other patients' work.
   */
  laneUrgency(lane: string): Promise<Urgency>;
  /** Lanes that hold operations, and the head of each, for the lane sweeper. */
  laneHeads(connection: string): Promise<readonly { readonly lane: string; readonly head: string }[]>;
  /** How many lanes hold operations: one Redis read, whatever the backlog (metrics). */
  laneCount(connection: string): Promise<number>;
  /** The operations still waiting in a lane, in the order they will be applied (at most `limit`). */
  laneOperations(lane: string, limit: number): Promise<readonly Operation[]>;
  query(query: OperationQuery): Promise<readonly Operation[]>;
  count(connection: string, status: OperationStatus): Promise<number>;
  /** Urgent writes not yet final (queued, or being sent). */
  urgentPending(connection: string): Promise<number>;
  /** The client's operations not yet final (queued, sending), counted since they were accepted. */
  queuedWrites(owner: OperationOwner): Promise<number>;
  /** Acceptance time of the oldest operation in this status, if any. */
  oldest(connection: string, status: OperationStatus): Promise<Date | undefined>;
}

/** A read as it was last answered by the EHR, and when. */
export interface CachedRead<T> {
  readonly value: T;
  /** ISO instant at which the EHR gave this answer. */
  readonly asOf: string;
}

/**
 * The continuity cache: the last good answer to each read, kept (encrypted) so that agents still
 * see patients and appointments while the EHR is down. Keys are per connection.
 */
export interface ReadCache {
  /** `group` names entries that one write makes stale together (a patient's appointment lists). */
  put(connection: string, key: string, value: unknown, asOf: Date, group?: string): Promise<void>;
  get<T>(connection: string, key: string): Promise<CachedRead<T> | undefined>;
  /** Drops every entry of the group: better no answer during an outage than a wrong one. */
  forgetGroup(connection: string, group: string): Promise<void>;
}

/**
 * Slots promised to bookings still in Continuum's queue, per connection. Taking the hold is what
 * decides, among callers racing for one slot through the gateway, who gets it; the EHR's own
 * version check still guards against bookings made elsewhere.
 */
export interface SlotHolds {
  /** Hold the slot for this operation; when another booking still waiting holds it, its id. */
  hold(
    connection: string,
    slotId: string,
    operationId: string,
  ): Promise<{ readonly held: true } | { readonly held: false; readonly holder: string }>;
  holder(connection: string, slotId: string): Promise<string | undefined>;
  /** Let go of the slot if this operation holds it. */
  release(connection: string, slotId: string, operationId: string): Promise<void>;
  /** Every slot held on the connection, to leave out of the free slots offered. */
  heldSlots(connection: string): Promise<ReadonlySet<string>>;
}

/** A notification from an EHR, accepted and waiting to be acted on (no PHI: references only). */
export interface QueuedNotification {
  readonly connection: string;
  readonly eventId: string;
  readonly refs: readonly { readonly resourceType: string; readonly id: string; readonly version?: string }[];
  /** Re-read what changed since then: an empty notification, or a gap in the event numbers. */
  readonly rereadSince?: string;
  readonly receivedAt: string;
}

/** What Continuum remembers of the notifications each EHR pushed: for de-duplication and gaps. */
export interface NotificationLog {
  /** True the first time this event id is seen on the connection (kept for days). */
  claim(connection: string, eventId: string): Promise<boolean>;
  /** Gives a claim back when the notification could not be queued, so the EHR's retry is taken. */
  release(connection: string, eventId: string): Promise<void>;
  /**
   * Records the highest event number seen for a subscription and returns what was seen before
   * (number and time), so a jump in numbers shows notifications that never arrived.
   */
  advance(
    connection: string,
    subscription: string,
    eventNumber: number,
    at: Date,
  ): Promise<{ readonly number: number; readonly at: string } | undefined>;
  /** Records that a notification arrived now; returns when the one before it did. */
  touch(connection: string, at: Date): Promise<string | undefined>;
}

/** The durable queue of accepted EHR notifications. */
export interface NotificationQueue {
  enqueue(notification: QueuedNotification): Promise<void>;
}

/** A subscriber as operators see it: enabled or not, and what waits for it. */
export interface SubscriberStatus {
  readonly name: string;
  /** Set when the subscriber answered 410 Gone: nothing is sent until it is enabled again. */
  readonly disabled: { readonly at: string; readonly reason: string } | undefined;
  readonly waiting: number;
  /** Events given up on (refused for good, or retried for days): replayable. */
  readonly deadLetters: number;
}

/** Operator actions on event delivery. */
export interface EventOperations {
  states(): Promise<readonly SubscriberStatus[]>;
  /** Enables the subscriber again and re-queues its dead letters, oldest first; returns how many. */
  replay(subscriber: string): Promise<number>;
}

/** Hands call-center events to every subscriber that wants them, durably. */
export interface EventPublisher {
  publish(event: CallCenterEvent): Promise<void>;
}

/** The durable queue the API hands accepted operations to. */
/** Writes finished per second on a connection over the last minute, counted by every worker. */
export interface DrainRate {
  ratePerSecond(connection: string): Promise<number>;
}

/** Waiting write jobs of one connection, by the urgency they are served at. */
export type WaitingByUrgency = Readonly<Record<Urgency, number>>;

export interface WriteQueue {
  /**
   * Wake the worker for an operation at the head of its lane, served at `urgency` (its lane's: the
   * most urgent write still in it); a repeated call is a no-op. `fresh` replaces a finished job of
   * the same operation (an operator retry or replay).
   */
  enqueue(op: Operation, urgency: Urgency, options?: { readonly fresh?: boolean }): Promise<void>;
  /**
   * Serve the operation's job at `urgency` from now on, if that is more urgent than it is; nothing
   * when it has no job (its lane moved on: the next job takes the lane's urgency then).
   */
  raise(connection: string, operationId: string, urgency: Urgency): Promise<void>;
  /** Whether a live job exists for the operation: the lane sweeper repairs lanes without one. */
  jobPresence(op: Operation): Promise<'present' | 'missing' | 'exhausted'>;
  /**
   * Jobs the drain takes before this operation's: its place among the waiting jobs when it has one;
   * 0 while it is being sent; else (in backoff, or behind earlier writes of its patient) every job
   * waiting at its urgency or above, as if it joined the back of its class now.
   */
  jobsAhead(op: Operation): Promise<number>;
  waitingByUrgency(connection: string): Promise<WaitingByUrgency>;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSnapshot {
  readonly state: BreakerState;
  readonly consecutiveFailures: number;
  readonly openedAt: string | undefined;
  readonly lastProbeAt: string | undefined;
}

/** What the status pages need from the write pipeline's runtime, per connection. */
export interface PipelineMonitor {
  breaker(connection: string): Promise<BreakerSnapshot>;
  /** Whether the EHR accepts the connection's credentials. */
  credentials(connection: string): Promise<CredentialsSnapshot>;
  /** Operations finished per second over the last minute. */
  drainRate(connection: string): Promise<number>;
  /** The adaptive limit on writes at once; undefined where it is switched off. */
  drainLimit(connection: string): Promise<DrainLimitSnapshot | undefined>;
}

/** One EHR connection's circuit breaker, shared by every process through Redis. */
export interface CircuitBreaker {
  readonly connection: string;
  snapshot(): Promise<BreakerSnapshot>;
  /** Hot-path check; state is re-read from Redis at most every `cacheMs`. */
  allowsRequests(): Promise<boolean>;
  recordSuccess(): Promise<void>;
  recordFailure(): Promise<void>;
  /** `stalled` calls are in flight to an EHR that has answered nothing for a while: opens the breaker. */
  recordStall(stalled: number): Promise<void>;
  /** When open and a probe is due, runs `check`; success moves the breaker to half-open. */
  probeIfDue(check: () => Promise<unknown>): Promise<void>;
}

/** A lease shared by every process: `claim` is true for exactly one claimer until `ms` pass. */
export interface RunLock {
  claim(name: string, ms: number): Promise<boolean>;
}
