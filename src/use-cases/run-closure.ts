/**
 * The run of one site closure, as a durable job: find the visits (the EHR must answer: a failure
 * is retried with backoff while the status says `finding`), then queue one change per visit and one
 * callback per patient through the write pipeline, urgent, as the client that submitted it. Each
 * write's idempotency key is derived from the closure and the visit (or patient), so running again
 * after a crash re-queues nothing; the record's checkpoint only spares the re-run the lookups.
 * Queuing needs no EHR: writes wait in their lanes and drain when it is back. A stop ends the
 * changes; the run then only calls back the patients whose visits were already changed.
 */
import {
  closureCallbackKey,
  closureChangeKey,
  type ClosureCallback,
  type ClosureRecord,
  type ClosureTarget,
  type PatientClosureEntry,
} from '../domain/closure';
import { upcomingWindows } from '../domain/callback-windows';
import { ContinuumError, isEhrUnavailable } from '../domain/errors';
import type { Patient } from '../domain/fhir';
import type { MappingProfile } from '../domain/mapping-profile';
import type { PatientModel } from '../domain/patient';
import { acceptAppointmentChange, type AppointmentChangeInput } from './accept-appointment-change';
import { acceptPlainWrite, type WriteContext } from './accept-write';
import { findClosureTargets } from './closure-targets';
import { cancelOperation } from './operator-actions';
import type { Tenant } from '../domain/access';
import { patientCacheKey } from './patient-read';
import type { ClosureDeps } from './site-closure';
import { withRunningProfile } from './pinned-profile';
import type { ConnectionContext } from './use-case-deps';

/** Writes accepted at once; the record is saved after each batch (the checkpoint). */
const BATCH = 10;
/** Patients whose numbers are read from the EHR in one search. */
const PHONE_BATCH = 50;
const PHONE_DEADLINE_MS = 10_000;

function writeContext(record: ClosureRecord, key: string): WriteContext {
  return {
    owner: record.owner,
    ...(record.tenantLocations !== undefined ? { locations: record.tenantLocations } : {}),
    idempotencyKey: key,
    correlationId: undefined,
    requestId: undefined,
    requestedUrgency: 'urgent',
  };
}

/**
 * The reason a visit's change carries: the closure's coded reason, else its words when they are one
 * of the table's reasons, else its words as text under the table's `other` code (never a code of
 * their own). A reload may have dropped a coded reason from the table since the closure was
 * accepted: its visits then get `other` when the table has it, else the words, rather than every
 * change being refused. The words always reach the callback.
 */
function reasonFor(
  mapping: MappingProfile,
  record: Pick<ClosureRecord, 'reason' | 'cancellationReason'>,
): { readonly reason: string | undefined; readonly reasonText?: string } {
  const coded = record.cancellationReason ?? record.reason;
  const value =
    mapping.cancellationReasonOf(coded) ??
    (record.cancellationReason !== undefined && mapping.cancellationReasons.includes('other')
      ? 'other'
      : undefined);
  return value !== undefined ? { reason: value } : { reason: undefined, reasonText: record.reason };
}

/** The change one visit gets, per the closure's action. */
export function changeFor(
  record: ClosureRecord,
  target: ClosureTarget,
  mapping: MappingProfile,
): AppointmentChangeInput {
  const base = {
    appointmentId: target.appointmentId,
    patientId: target.patientId,
    ...reasonFor(mapping, record),
  };
  switch (record.action) {
    case 'cancel':
      return { kind: 'appointment.cancel', ...base };
    case 'convert-to-virtual':
      return { kind: 'appointment.convert', ...base, mode: record.mode ?? 'video' };
    case 'hold-for-reschedule':
      return { kind: 'appointment.hold', ...base };
  }
}

/** A failure that ends this try of the job: retried with backoff, resuming at the checkpoint. */
function asRetry(error: unknown): Error {
  return error instanceof Error ? error : new ContinuumError('INTERNAL', { detail: 'queuing failed' });
}

/** Refusals that will not change on a retry: the visit is left out, with the reason, and the run goes on. */
function refusedForGood(error: unknown): error is ContinuumError {
  return error instanceof ContinuumError && !error.retryable;
}

function connectionOf(deps: ClosureDeps, record: ClosureRecord): ConnectionContext {
  const connection = deps.connections.get(record.connection);
  if (connection === undefined) {
    throw new ContinuumError('INTERNAL', { detail: `connection ${record.connection} is not configured` });
  }
  // The closure's reasons and the changes it queues go by one profile version.
  return withRunningProfile(connection);
}

/** Change writes whose visit may yet change, or did: the patient is owed a callback. */
const OWING: ReadonlySet<string> = new Set(['succeeded', 'sending', 'queued']);

/**
 * Patients a stopped closure still owes a callback: one of their visits was changed, or is being
 * changed, by a write the stop could not cancel.
 */
export async function owedPatients(
  deps: Pick<ClosureDeps, 'store'>,
  record: ClosureRecord,
): Promise<{ readonly owed: ReadonlySet<string>; readonly inFlight: number }> {
  const owed = new Set<string>();
  let inFlight = 0;
  for (const target of record.targets) {
    if (target.operationId === undefined) continue;
    const op = await deps.store.get(target.operationId);
    if (op === undefined || !OWING.has(op.status)) continue;
    owed.add(target.patientId);
    if (op.status !== 'succeeded') inFlight += 1;
  }
  return { owed, inFlight };
}

async function cancelIfNotSent(deps: ClosureDeps, id: string, tenant: Tenant): Promise<boolean> {
  const op = await deps.store.get(id);
  if (op?.status !== 'queued' || op.attempts > 0) return false;
  try {
    await cancelOperation(deps, id, tenant);
    return true;
  } catch {
    // Taken by a worker meanwhile: it is being sent and will finish.
    return false;
  }
}

/**
 * What a stop asks: the closure's changes not yet sent are cancelled, and so are the callbacks of
 * patients none of whose visits it changed. A patient whose visit did change keeps (or still gets)
 * their callback: they must hear about it.
 */
export async function cancelQueuedWrites(deps: ClosureDeps, record: ClosureRecord): Promise<number> {
  // The closure's own writes, seen as its tenant sees them.
  const tenant: Tenant = {
    name: record.owner.tenant,
    connections: [record.connection],
    locations: record.tenantLocations,
  };
  let cancelled = 0;
  for (const target of record.targets) {
    if (target.operationId !== undefined && (await cancelIfNotSent(deps, target.operationId, tenant)))
      cancelled += 1;
  }
  const { owed } = await owedPatients(deps, record);
  for (const callback of record.callbacks) {
    if (owed.has(callback.patientId)) continue;
    if (callback.operationId === undefined) {
      // Its place was taken but its write never queued: nobody will call in that window.
      await giveBackPlace(deps, record, callback);
      continue;
    }
    if (await cancelIfNotSent(deps, callback.operationId, tenant)) {
      cancelled += 1;
      await giveBackPlace(deps, record, callback);
    }
  }
  return cancelled;
}

/** Thrown while a stopped closure's changes are still being sent: the job looks again shortly. */
class ChangesInFlight extends ContinuumError {
  constructor(count: number) {
    super('EHR_UNAVAILABLE', {
      detail: `${count} changes of the stopped closure are still being sent; their callbacks follow`,
      retryAfterSeconds: 2,
    });
  }
}

/** After a stop: once the changes in flight are final, the callbacks owed to their patients. */
async function queueOwedCallbacks(deps: ClosureDeps, record: ClosureRecord): Promise<void> {
  const { owed, inFlight } = await owedPatients(deps, record);
  if (inFlight > 0) throw new ChangesInFlight(inFlight);
  const owing = record.callbacks.filter(
    (c) => owed.has(c.patientId) && c.operationId === undefined && c.refused === undefined,
  );
  if (owing.length === 0) return;
  await queueCallbacks(deps, record, new Set(owing.map((c) => c.patientId)));
}

async function find(deps: ClosureDeps, record: ClosureRecord): Promise<ClosureRecord> {
  const connection = connectionOf(deps, record);
  try {
    const found = await findClosureTargets(connection, record);
    const patients = [...new Set(found.targets.map((t) => t.patientId))];
    const next: ClosureRecord = {
      ...record,
      phase: 'queuing-changes',
      targets: found.targets,
      callbacks: patients.map((patientId) => ({ patientId })),
      locationNames: found.locationNames,
      lastError: undefined,
      findAttempts: record.findAttempts + 1,
      updatedAt: deps.clock.now().toISOString(),
    };
    await fileForPatients(deps, next);
    await deps.closures.save(next);
    deps.logger.info(
      { closureId: record.id, appointments: found.targets.length, patients: patients.length },
      'site closure: visits found',
    );
    return next;
  } catch (error) {
    const failed = refusedForGood(error) && !isEhrUnavailable(error);
    const detail =
      error instanceof ContinuumError ? `${error.code}: ${error.detail ?? error.title}` : 'unexpected error';
    await deps.closures.save({
      ...record,
      ...(failed ? { phase: 'failed' as const } : {}),
      lastError: detail,
      findAttempts: record.findAttempts + 1,
      updatedAt: deps.clock.now().toISOString(),
    });
    deps.logger.warn(
      { closureId: record.id, err: error, attempt: record.findAttempts + 1 },
      failed
        ? 'site closure: the visits could not be found'
        : 'site closure: finding the visits is tried again',
    );
    if (failed) return { ...record, phase: 'failed' };
    throw error;
  }
}

/** What each patient is told, filed per patient before any write is queued. */
async function fileForPatients(deps: ClosureDeps, record: ClosureRecord): Promise<void> {
  const byPatient = new Map<string, ClosureTarget[]>();
  for (const target of record.targets) {
    byPatient.set(target.patientId, [...(byPatient.get(target.patientId) ?? []), target]);
  }
  for (const [patientId, visits] of byPatient) {
    const entry: PatientClosureEntry = {
      closureId: record.id,
      tenant: record.owner.tenant,
      clientId: record.owner.clientId,
      action: record.action,
      newMode: record.action === 'convert-to-virtual' ? (record.mode ?? 'video') : undefined,
      visits: visits.map((v) => ({
        appointmentId: v.appointmentId,
        start: v.start,
        end: v.end,
        location: {
          id: v.location.id,
          name: record.locationNames[v.location.id] ?? v.location.name ?? v.location.id,
        },
        practitioner: v.practitioner,
        mode: v.mode,
      })),
      callback: record.callback,
      createdAt: record.createdAt,
    };
    await deps.closures.fileForPatient(record.connection, patientId, entry);
  }
}

async function queueChanges(deps: ClosureDeps, record: ClosureRecord): Promise<ClosureRecord | 'stopped'> {
  const connection = connectionOf(deps, record);
  let current: ClosureRecord = {
    ...record,
    queuingStartedAt: record.queuingStartedAt ?? deps.clock.now().toISOString(),
  };
  const pending = current.targets
    .map((target, index) => ({ target, index }))
    .filter(({ target }) => target.operationId === undefined && target.refused === undefined);
  for (let i = 0; i < pending.length; i += BATCH) {
    if ((await deps.closures.stoppedAt(record.id)) !== undefined) return 'stopped';
    const batch = pending.slice(i, i + BATCH);
    const outcomes = await Promise.allSettled(
      batch.map(({ target }) =>
        acceptAppointmentChange(
          deps,
          connection,
          writeContext(current, closureChangeKey(record.id, target.appointmentId)),
          changeFor(current, target, connection.mapping),
        ),
      ),
    );
    const targets = [...current.targets];
    let retryLater: unknown;
    outcomes.forEach((outcome, k) => {
      const entry = batch[k];
      if (entry === undefined) return;
      if (outcome.status === 'fulfilled') {
        targets[entry.index] = { ...entry.target, operationId: outcome.value.operation.id };
      } else if (refusedForGood(outcome.reason)) {
        targets[entry.index] = { ...entry.target, refused: outcome.reason.code };
      } else {
        retryLater = outcome.reason;
      }
    });
    current = { ...current, targets, updatedAt: deps.clock.now().toISOString() };
    await deps.closures.save(current);
    // The store or the quota refused for now: the job retries later and resumes here.
    if (retryLater !== undefined) throw asRetry(retryLater);
  }
  current = { ...current, phase: 'queuing-callbacks', updatedAt: deps.clock.now().toISOString() };
  await deps.closures.save(current);
  return current;
}

/** Each patient's numbers: from the EHR in batches, else the continuity cache; absent when neither knows. */
async function phonesOf(
  deps: ClosureDeps,
  connection: ConnectionContext,
  patientIds: readonly string[],
): Promise<{ readonly phones: Map<string, readonly string[]>; readonly ehrAnswered: boolean }> {
  const phones = new Map<string, readonly string[]>();
  let ehrDown = !(await connection.ehrAvailable());
  for (let i = 0; i < patientIds.length && !ehrDown; i += PHONE_BATCH) {
    const ids = patientIds.slice(i, i + PHONE_BATCH);
    try {
      const found = await connection.ehr.search<Patient>(
        'Patient',
        { _id: ids.join(','), _count: String(ids.length) },
        { deadlineMs: PHONE_DEADLINE_MS },
      );
      for (const resource of found) {
        const model = connection.mapping.readPatient(resource);
        phones.set(model.id, model.phones);
      }
    } catch (error) {
      if (!isEhrUnavailable(error)) throw error;
      ehrDown = true;
    }
  }
  for (const id of patientIds) {
    if (phones.has(id)) continue;
    const cached = await deps.readCache.get<PatientModel>(connection.name, patientCacheKey(id));
    if (cached !== undefined) phones.set(id, cached.value.phones);
  }
  return { phones, ehrAnswered: !ehrDown };
}

/** A callback that will not be made gives its window's place back to other callers. */
async function giveBackPlace(
  deps: ClosureDeps,
  record: ClosureRecord,
  callback: ClosureCallback,
): Promise<void> {
  // Asked by holder, not by the record: a place taken just before a crash is not on the record yet.
  if (record.callback.window !== undefined) return;
  await deps.callbackBook
    .releaseFor(record.owner.tenant, closureCallbackKey(record.id, callback.patientId))
    .catch((error: unknown) => {
      deps.logger.warn({ err: error, closureId: record.id }, 'site closure: a callback place not given back');
    });
}

/** The callbacks not yet queued (`only`: those of these patients, queued even though the closure is stopped). */
async function queueCallbacks(
  deps: ClosureDeps,
  record: ClosureRecord,
  only?: ReadonlySet<string>,
): Promise<ClosureRecord | 'stopped'> {
  const connection = connectionOf(deps, record);
  const pending = record.callbacks
    .map((callback, index) => ({ callback, index }))
    .filter(({ callback }) => callback.operationId === undefined && callback.refused === undefined)
    .filter(({ callback }) => only === undefined || only.has(callback.patientId));
  const { phones, ehrAnswered } = await phonesOf(
    deps,
    connection,
    pending.map(({ callback }) => callback.patientId),
  );
  const callbacks: ClosureCallback[] = [...record.callbacks];
  let unknownYet = 0;
  let current = record;
  const windows =
    record.callback.window === undefined ? upcomingWindows(deps.callbackWindows, deps.clock.now()) : [];
  for (let i = 0; i < pending.length; i += BATCH) {
    if (only === undefined && (await deps.closures.stoppedAt(record.id)) !== undefined) return 'stopped';
    const batch = pending.slice(i, i + BATCH);
    const callable: typeof batch = [];
    for (const entry of batch) {
      const numbers = phones.get(entry.callback.patientId);
      if (numbers?.[0] !== undefined) callable.push(entry);
      // No number known: the EHR did not answer (it may yet), or it answered that there is none.
      else if (numbers === undefined && !ehrAnswered) unknownYet += 1;
      else callbacks[entry.index] = { ...entry.callback, refused: 'NO_PHONE_NUMBER' };
    }
    if (record.callback.window === undefined) {
      // One at a time, in patient order, so a closure fills the windows in order; the places are
      // on the record before any write is queued, and held per patient in the book besides.
      for (const { callback, index } of callable) {
        const window = await deps.callbackBook.reserveFor(
          record.owner.tenant,
          closureCallbackKey(record.id, callback.patientId),
          windows,
          deps.callbackWindows.capacity,
        );
        const { window: _previous, unscheduled: _full, ...rest } = callback;
        callbacks[index] = window === undefined ? { ...rest, unscheduled: true } : { ...rest, window };
      }
      current = { ...current, callbacks: [...callbacks], updatedAt: deps.clock.now().toISOString() };
      await deps.closures.save(current);
    }
    let retryLater: unknown;
    await Promise.all(
      callable.map(async ({ index }) => {
        const callback = callbacks[index];
        const phone = phones.get(callback?.patientId ?? '')?.[0];
        if (callback === undefined || phone === undefined) return;
        const window = callback.window ?? record.callback.window;
        try {
          const accepted = await acceptPlainWrite(
            deps,
            connection,
            writeContext(record, closureCallbackKey(record.id, callback.patientId)),
            {
              kind: 'callback.request',
              callback: {
                patientId: callback.patientId,
                phone,
                windowStart: window?.start,
                windowEnd: window?.end,
                priority: record.callback.priority,
                reason: record.reason,
                notes: undefined,
              },
            },
          );
          callbacks[index] = { ...callback, operationId: accepted.operation.id };
        } catch (error) {
          if (refusedForGood(error)) {
            callbacks[index] = { ...callback, refused: error.code };
            await giveBackPlace(deps, record, callback);
          } else retryLater = error;
        }
      }),
    );
    current = { ...current, callbacks: [...callbacks], updatedAt: deps.clock.now().toISOString() };
    await deps.closures.save(current);
    if (retryLater !== undefined) {
      deps.logger.info(
        { closureId: record.id, code: retryLater instanceof ContinuumError ? retryLater.code : undefined },
        'site closure: callbacks refused for now; the run resumes with the windows already taken',
      );
      throw asRetry(retryLater);
    }
  }
  if (unknownYet > 0) {
    throw new ContinuumError('EHR_UNAVAILABLE', {
      detail: `${unknownYet} patients' numbers are not known while the EHR is down; their callbacks wait for it`,
      retryAfterSeconds: 5,
    });
  }
  if (only !== undefined) return current;
  current = { ...current, phase: 'queued', updatedAt: deps.clock.now().toISOString() };
  await deps.closures.save(current);
  return current;
}

/** The job: runs the closure from wherever its record says it got to. */
export async function runClosure(deps: ClosureDeps, closureId: string): Promise<void> {
  let record = await deps.closures.get(closureId);
  if (record === undefined) {
    deps.logger.warn({ closureId }, 'site closure run: no such closure (past retention?)');
    return;
  }
  const stopped = async (at: ClosureRecord): Promise<void> => {
    const cancelled = await cancelQueuedWrites(deps, at);
    deps.logger.info({ closureId, cancelled }, 'site closure stopped: its writes not yet sent are cancelled');
    await queueOwedCallbacks(deps, at);
  };
  if ((await deps.closures.stoppedAt(closureId)) !== undefined) return stopped(record);
  if (record.phase === 'finding') record = await find(deps, record);
  if (record.phase === 'queuing-changes') {
    const next = await queueChanges(deps, record);
    if (next === 'stopped') return stopped((await deps.closures.get(closureId)) ?? record);
    record = next;
  }
  if (record.phase === 'queuing-callbacks') {
    const next = await queueCallbacks(deps, record);
    if (next === 'stopped') return stopped((await deps.closures.get(closureId)) ?? record);
    record = next;
  }
  // A stop that landed while the last batch was being queued: that batch is cancelled too.
  if ((await deps.closures.stoppedAt(closureId)) !== undefined) return stopped(record);
  deps.logger.info({ closureId, phase: record.phase }, 'site closure run: every write is queued');
}
