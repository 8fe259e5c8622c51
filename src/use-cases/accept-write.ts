/**
 * The acceptance half of every write: idempotency, store, enqueue. After this returns, the
 * operation is durable in Redis and its job is queued; the caller answers 202.
 */
import { ContinuumError } from '../domain/errors';
import {
  patientIdOf,
  patientLane,
  ownLane,
  type Operation,
  type OperationOwner,
  type OperationPayload,
} from '../domain/operation';
import { newOperationId } from './operation-id';
import { deadlineMissed, withDeadline } from '../domain/with-deadline';
import { requestHash } from './request-hash';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';
import type { InsertResult } from '../domain/ports';
import { decideUrgency } from '../domain/urgency-rule';
import type { Urgency } from '../domain/urgency';

export interface WriteContext {
  /** The client and tenant the write is accepted for: idempotency keys are scoped to the client. */
  readonly owner: OperationOwner;
  /** The only locations the tenant books into; undefined: any. */
  readonly locations?: readonly string[];
  readonly idempotencyKey: string | undefined;
  readonly correlationId: string | undefined;
  readonly requestId: string | undefined;
  /** `Prefer: priority=`, once the caller's scopes allowed it; unset: the urgency rule decides. */
  readonly requestedUrgency?: Urgency;
}

export interface AcceptedWrite {
  readonly operation: Operation;
  /** False when an earlier request with the same idempotency key already created it. */
  readonly created: boolean;
}

function sameRequestOrThrow(existing: Operation, hash: string): AcceptedWrite {
  if (existing.requestHash !== hash) {
    throw new ContinuumError('IDEMPOTENCY_MISMATCH', {
      detail: `Idempotency-Key was first used for operation ${existing.id} with another request body`,
    });
  }
  return { operation: existing, created: false };
}

/**
 * The key that makes a retry return the first operation. An explicit Idempotency-Key wins. Without
 * one, IVR platforms still retry on their own (Amazon Connect, NICE), so the call's contact id and
 * the request itself make the key: the platform's retry of the same request finds the first
 * operation, while a different change in the same call is a new operation.
 */
export function effectiveIdempotencyKey(context: WriteContext, hash: string): string | undefined {
  // Scoped per client (the IETF Idempotency-Key draft's rule): two clients' keys never collide.
  const client = context.owner.clientId;
  if (context.idempotencyKey !== undefined) return `client:${client}:${context.idempotencyKey}`;
  if (context.correlationId !== undefined) {
    return `client:${client}:contact:${context.correlationId}:${hash.slice(0, 32)}`;
  }
  return undefined;
}

/** Checks an idempotency key before any EHR round trip: a retry must not cost one. */
export async function findExistingWrite(
  deps: Pick<UseCaseDeps, 'store' | 'enqueueTimeoutMs'>,
  connection: ConnectionContext,
  context: WriteContext,
  request: unknown,
): Promise<AcceptedWrite | undefined> {
  const hash = requestHash(request);
  const key = effectiveIdempotencyKey(context, hash);
  if (key === undefined) return undefined;
  const existing = await withDeadline(
    deps.store.findByIdempotencyKey(connection.name, key),
    deps.enqueueTimeoutMs,
    'the write store',
  );
  return existing ? sameRequestOrThrow(existing, hash) : undefined;
}

const MAX_DEADLINE_MARGIN_MS = 500;

/**
 * The instant after which the store must refuse the insert, a margin before the API gives up and
 * answers 503. The margin covers what can make a stored write look refused: Redis's clock ahead of
 * ours, and a reply still on its way (or waiting behind a busy event loop) when the timer fires.
 */
function storeDeadline(acceptedAt: Date, enqueueTimeoutMs: number): Date {
  const margin = Math.min(MAX_DEADLINE_MARGIN_MS, enqueueTimeoutMs / 4);
  return new Date(acceptedAt.getTime() + enqueueTimeoutMs - margin);
}

/**
 * What a caller is told when the insert was sent and its answer never came (Redis died or stalled
 * mid-command). It may have been stored; by the time this is said, its store deadline has passed,
 * so its fate is settled: the same request with the same Idempotency-Key, or a read of the
 * receipt, tells which once the store answers again.
 */
function outcomeUnknown(operationId: string): ContinuumError {
  return new ContinuumError('WRITE_OUTCOME_UNKNOWN', {
    detail:
      'the write store stopped answering after the write was sent, so it may have been taken: ' +
      'send the same request with the same Idempotency-Key, or read its receipt, to learn which',
    retryAfterSeconds: 2,
    extra: { operationId, receipt: `/v1/operations/${operationId}` },
  });
}

/** Seconds a client over its queued-writes cap is asked to wait: its backlog drains at the EHR's pace. */
const QUOTA_RETRY_AFTER_SECONDS = 10;
/** Seconds a write is asked to wait while the store is full: memory comes back only as retention ends. */
const STORAGE_RETRY_AFTER_SECONDS = 60;

function quotaExceeded(queuedWrites: number | undefined): ContinuumError {
  const waiting = queuedWrites === undefined ? 'writes' : `${queuedWrites} writes`;
  return new ContinuumError('WRITE_QUOTA_EXCEEDED', {
    detail:
      `this client already has ${waiting} waiting to be sent, as many as it may; nothing was taken: ` +
      'send the request again once some of them have finished',
    retryAfterSeconds: QUOTA_RETRY_AFTER_SECONDS,
    ...(queuedWrites === undefined ? {} : { extra: { queuedWrites } }),
  });
}

/**
 * Refuses a new write while the store's memory is within the reserve kept for draining: what is
 * queued can still be sent and its receipts written. Operator actions and workers never come here.
 */
function refuseWhenStorageFull(deps: Pick<UseCaseDeps, 'storage' | 'logger' | 'metrics'>): void {
  const memory = deps.storage.memory();
  if (memory.acceptingWrites) return;
  deps.metrics?.rateLimitRefusal('storage-full');
  // Debug: the gauge warns once when the reserve is reached; one line per refused write would flood.
  deps.logger.debug(
    { usedBytes: memory.usedBytes, limitBytes: memory.limitBytes, reservedBytes: memory.reservedBytes },
    'write refused: the write store is within its memory reserve',
  );
  throw new ContinuumError('STORAGE_FULL', {
    detail:
      'the write store is near its memory limit and keeps the rest for writes already queued; ' +
      'nothing was taken: send the request again later',
    retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS,
  });
}

/** A refusal that certainly stored nothing of the write: what was taken for it may be given back. */
export function refusedByStorageLimits(error: unknown): boolean {
  return (
    error instanceof ContinuumError &&
    (error.code === 'WRITE_QUOTA_EXCEEDED' || error.code === 'STORAGE_FULL')
  );
}

/**
 * The insert, answered within the enqueue deadline, with three distinct failures: refused for
 * certain (503 QUEUE_UNAVAILABLE, or WRITE_QUOTA_EXCEEDED past the client's cap: nothing was
 * taken), or sent and unanswered (503
 * WRITE_OUTCOME_UNKNOWN). The second is only said once the store's own deadline has passed, so a
 * receipt read or a retry afterwards sees the final state, not one the insert may still change.
 */
async function storeWithinDeadline(
  deps: Pick<UseCaseDeps, 'store' | 'logger' | 'enqueueTimeoutMs' | 'storage' | 'metrics'>,
  operation: Operation,
  acceptedAt: Date,
  owner: OperationOwner,
): Promise<InsertResult> {
  let timer: NodeJS.Timeout | undefined;
  const settled = new Promise<'settled'>((resolve) => {
    timer = setTimeout(() => {
      resolve('settled');
    }, deps.enqueueTimeoutMs);
  });
  try {
    const insert = deps.store
      .insert(operation, storeDeadline(acceptedAt, deps.enqueueTimeoutMs), {
        queuedWritesCap: deps.storage.queuedWritesCap(owner),
      })
      .catch(async (error: unknown) => {
        deps.logger.warn(
          { operationId: operation.id, reason: error instanceof Error ? error.message : 'unknown' },
          'the write store lost the insert in flight: its outcome is settled at the deadline',
        );
        return settled;
      });
    const stored = await Promise.race([insert, settled]);
    if (stored === 'settled') throw outcomeUnknown(operation.id);
    if (stored.refused === undefined) return stored;
    if (stored.refused === 'late') {
      deps.logger.warn(
        { operationId: operation.id, lateByMs: stored.lateByMs },
        'write refused: it reached the store after its deadline (a slow Redis, or clocks apart)',
      );
      throw deadlineMissed('the write store');
    }
    if (stored.refused === 'quota') {
      deps.metrics?.rateLimitRefusal('queued-writes');
      throw quotaExceeded(stored.queuedWrites);
    }
    throw new ContinuumError('QUEUE_UNAVAILABLE', {
      detail: 'the write store is unavailable and nothing was taken: send the request again',
      retryAfterSeconds: 2,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** What accepting a write needs. */
export type AcceptDeps = Pick<
  UseCaseDeps,
  'store' | 'queue' | 'clock' | 'logger' | 'enqueueTimeoutMs' | 'storage' | 'metrics'
>;

export async function acceptWrite(
  deps: AcceptDeps,
  connection: ConnectionContext,
  context: WriteContext,
  request: unknown,
  payload: OperationPayload,
  options: {
    readonly note?: string;
    readonly id?: string;
    /** Starts of the appointments the write cancels or moves, when acceptance learned them. */
    readonly appointmentStarts?: readonly (string | undefined)[];
  } = {},
): Promise<AcceptedWrite> {
  const now = deps.clock.now();
  const hash = requestHash(request);
  const id = options.id ?? newOperationId(now);
  const { note } = options;
  const patientId = patientIdOf(payload);
  const urgency = decideUrgency({
    payload,
    appointmentStarts: options.appointmentStarts ?? [],
    requested: context.requestedUrgency,
    now,
  });
  const operation: Operation = {
    id,
    kind: payload.kind,
    connection: connection.name,
    lane:
      patientId !== undefined
        ? patientLane(connection.name, patientId)
        : ownLane(connection.name, { id, kind: payload.kind }),
    patientId,
    payload,
    mappingProfile: connection.mapping.name,
    mappingHash: connection.mapping.hash,
    idempotencyKey: effectiveIdempotencyKey(context, hash),
    requestHash: hash,
    correlationId: context.correlationId,
    requestId: context.requestId,
    owner: context.owner,
    status: 'queued',
    urgency: urgency.urgency,
    ...(urgency.reason !== undefined ? { urgencyReason: urgency.reason } : {}),
    attempts: 0,
    lastError: undefined,
    resourceRef: undefined,
    resourceVersion: undefined,
    review: undefined,
    history: [{ status: 'queued', at: now.toISOString(), attempt: 0, ...(note ? { note } : {}) }],
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  refuseWhenStorageFull(deps);
  // Stored and in its lane = accepted: from here on the write survives any crash.
  const stored = await storeWithinDeadline(deps, operation, now, context.owner);
  if (!stored.created) return sameRequestOrThrow(stored.operation, hash);
  if (stored.lanePosition === 1) {
    // Head of its lane: wake a worker. If Redis refuses the job now, the lane sweeper enqueues it.
    await deps.queue.enqueue(operation, urgency.urgency).catch((error: unknown) => {
      deps.logger.warn({ operationId: id, err: error }, 'job not enqueued; the lane sweeper will pick it up');
    });
  } else if (urgency.urgency === 'urgent' && stored.laneHead !== undefined) {
    // The lane inherits the urgency: its head is served now, so this write is not held up by
    // other patients' routine work while it waits, as it must, behind its own patient's.
    await deps.queue.raise(connection.name, stored.laneHead, 'urgent').catch((error: unknown) => {
      deps.logger.warn(
        { operationId: id, laneHead: stored.laneHead, err: error },
        'lane head not raised; the lane sweeper will raise it',
      );
    });
  }
  deps.logger.info(
    {
      operationId: id,
      kind: operation.kind,
      urgency: urgency.urgency,
      connection: connection.name,
      ref: patientId !== undefined ? `Patient/${patientId}` : payload.kind,
    },
    stored.lanePosition > 1 ? 'write accepted behind earlier writes for this patient' : 'write accepted',
  );
  return { operation, created: true };
}

/**
 * A write whose request is its payload and that needs no check against the EHR first
 * (a registration, a call log, a callback): an earlier submission under the same key wins, else
 * it is stored and queued.
 */
export async function acceptPlainWrite(
  deps: AcceptDeps,
  connection: ConnectionContext,
  context: WriteContext,
  payload: OperationPayload,
): Promise<AcceptedWrite> {
  const request = { ...payload, connection: connection.name };
  const existing = await findExistingWrite(deps, connection, context, request);
  if (existing) return existing;
  return acceptWrite(deps, connection, context, request, payload);
}
