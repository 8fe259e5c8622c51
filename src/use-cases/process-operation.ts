/**
 * The worker's use case: take one operation from `queued` to a final state, or hand it back for
 * a later attempt. It never swallows a failure: what happens next is the failure policy's call
 * (`decideFailure`); a failure to retry is recorded and rethrown for the queue to schedule, a
 * final one is recorded and returned.
 */
import { ContinuumError } from '../domain/errors';
import {
  asContinuumError,
  decideFailure,
  MappingFailedError,
  NeedsReviewError,
} from '../domain/failure-policy';
import {
  heldSlotOf,
  TERMINAL_STATUSES,
  transition,
  type Operation,
  type OperationError,
  type ProcessOutcome,
} from '../domain/operation';
import { applyAppointmentConvert, applyAppointmentHold } from './apply-appointment-amendment';
import { applyAppointmentBooking } from './apply-appointment-booking';
import {
  applyAppointmentCancel,
  applyAppointmentConfirm,
  applyAppointmentReschedule,
  type Progress,
} from './apply-appointment-change';
import { applyCallbackRequest, applyCallLog } from './apply-call-writes';
import { applyPatientCreate } from './apply-patient-create';
import { applyPatientUpdate, type AppliedWrite } from './apply-patient-update';
import { operationEvents, publishEvents } from './call-center-events';
import { continueLane } from './continue-lane';
import { pinnedProfile, withProfile } from './pinned-profile';
import { appointmentsCacheGroup } from './patient-appointments';
import type { UseCaseDeps } from './use-case-deps';
import { recordAfterTheFact, writeAppliedRecord } from './worker-audit';

function toOperationError(error: ContinuumError): OperationError {
  return {
    code: error.code,
    status: error.status,
    retryable: error.retryable,
    detail: error.detail,
    ...(error.outcome !== undefined ? { outcome: error.outcome } : {}),
    ...(error instanceof MappingFailedError ? { mapping: error.mapping } : {}),
    ...(typeof error.extra?.ehrStatus === 'number' ? { ehrStatus: error.extra.ehrStatus } : {}),
  };
}

/**
 * A 403 met again by a write held for a 403 before: the worker ran it again only because the
 * connection's credentials were proven in between (an authenticated read answered), so the EHR
 * forbids this write, not the connection. That is a verdict on the write; holding it again would
 * block its patient's lane for ever, pausing the connection at every retry.
 */
function forbiddenWrite(error: ContinuumError, before: Operation): ContinuumError | undefined {
  if (error.code !== 'EHR_CREDENTIALS_REJECTED' || error.extra?.ehrStatus !== 403) return undefined;
  const last = before.lastError;
  if (last?.code !== 'EHR_CREDENTIALS_REJECTED' || last.ehrStatus !== 403) return undefined;
  return new ContinuumError('EHR_REJECTED', {
    detail: `EHR ${before.connection} forbids this write (403), while it accepts the connection's credentials`,
    cause: error,
    outcome: error.outcome,
    extra: { ehrStatus: 403 },
  });
}

async function apply(deps: UseCaseDeps, op: Operation, progress: Progress): Promise<AppliedWrite> {
  const running = deps.connections.get(op.connection);
  if (!running) throw new ContinuumError('VALIDATION', { detail: `unknown EHR connection ${op.connection}` });
  // With the profile version the write was accepted under, not whatever runs since a reload.
  const connection = withProfile(running, await pinnedProfile(deps, running, op));
  switch (op.payload.kind) {
    case 'patient.update':
      return applyPatientUpdate(deps, connection, op.payload);
    case 'patient.create':
      return applyPatientCreate(deps, connection, op, op.payload);
    case 'appointment.book':
      return applyAppointmentBooking(deps, connection, op, op.payload);
    case 'appointment.cancel':
      return applyAppointmentCancel(connection, op.payload, op.attempts, progress);
    case 'appointment.confirm':
      return applyAppointmentConfirm(connection, op.payload);
    case 'appointment.reschedule':
      return applyAppointmentReschedule(deps, connection, op, op.payload, progress);
    case 'appointment.convert':
      return applyAppointmentConvert(connection, op.payload);
    case 'appointment.hold':
      return applyAppointmentHold(connection, op.payload, op.attempts, progress);
    case 'call.log':
      return applyCallLog(connection, op, op.payload);
    case 'callback.request':
      return applyCallbackRequest(connection, op, op.payload);
  }
}

export async function processOperation(deps: UseCaseDeps, operationId: string): Promise<ProcessOutcome> {
  const found = await deps.store.get(operationId);
  const log = deps.logger.child({ operationId });
  if (!found) {
    log.warn({}, 'operation record missing (expired); job dropped');
    return 'skipped';
  }
  // A re-run of a job whose operation already finished (a crash after the final save), or one
  // cancelled while it waited: nothing to send, but its lane must still move on.
  if (TERMINAL_STATUSES.has(found.status)) {
    await continueLane(deps, found);
    return 'skipped';
  }

  let op = transition(found, { status: 'sending', attempts: found.attempts + 1 }, deps.clock.now());
  // Compare-and-set: an operator's cancel that landed first wins.
  if (!(await deps.store.saveIf(op, found.status))) return processOperation(deps, operationId);

  let outcome: Exclude<ProcessOutcome, 'skipped'>;
  // A step of this try completed in the EHR: the next try must know an earlier one got that far.
  const thisTry = { stepDone: false };
  try {
    // A multi-step write records each step on its receipt as it completes.
    const progress: Progress = async (note) => {
      thisTry.stepDone = true;
      op = transition(op, { status: 'sending', note }, deps.clock.now());
      await deps.store.save(op);
    };
    const result = await apply(deps, op, progress);
    op = transition(
      op,
      {
        status: 'succeeded',
        resourceRef: result.resourceRef,
        ...(result.resourceVersion !== undefined ? { resourceVersion: result.resourceVersion } : {}),
        ...(result.note !== undefined ? { note: result.note } : {}),
        ...(result.patientId !== undefined ? { patientId: result.patientId } : {}),
        ...(result.resourceExisted === true ? { resourceExisted: true } : {}),
      },
      deps.clock.now(),
    );
    outcome = 'succeeded';
    log.info({ kind: op.kind, ref: result.resourceRef, attempts: op.attempts }, 'write succeeded');
  } catch (caught) {
    const met = asContinuumError(caught, 'unexpected failure while sending the write');
    const error = forbiddenWrite(met, found) ?? met;
    const decision = decideFailure(error);
    if (decision.action !== 'final') {
      // The lane stays blocked behind this operation: later writes for the patient must not overtake it.
      // A connection whose credentials were refused never got to judge the write: the try is not
      // counted, unless a step of it already reached the EHR. The writes tell a resumed try from a
      // first one by the count (a reschedule whose old appointment is already cancelled), so such a
      // try must count or the next one fails a move that happened.
      const held = decision.action === 'hold';
      op = transition(
        op,
        {
          status: 'queued',
          error: toOperationError(error),
          note: held ? 'waiting for the EHR to accept the connection credentials' : 'will retry',
          ...(held && !thisTry.stepDone ? { attempts: found.attempts } : {}),
        },
        deps.clock.now(),
      );
      await deps.store.save(op);
      log.warn(
        { kind: op.kind, err: error, attempts: op.attempts },
        held ? 'write held: the EHR refused the connection credentials' : 'write attempt failed; will retry',
      );
      throw error;
    }
    if (decision.status === 'needs-review') {
      op = transition(
        op,
        {
          status: 'needs-review',
          error: toOperationError(error),
          ...(error instanceof NeedsReviewError ? { review: error.diff } : {}),
        },
        deps.clock.now(),
      );
      outcome = 'needs-review';
      log.warn(
        {
          kind: op.kind,
          err: error,
          ...(error instanceof MappingFailedError ? { mapping: error.mapping } : {}),
        },
        'write needs review',
      );
    } else {
      op = transition(op, { status: 'failed', error: toOperationError(error) }, deps.clock.now());
      // Later writes for a patient the EHR no longer has are checked again at acceptance.
      if (error.code === 'NOT_FOUND' && op.patientId !== undefined)
        deps.connections.get(op.connection)?.confirmedPatients.forget(op.patientId);
      outcome = 'failed';
      log.warn({ kind: op.kind, err: error }, 'write failed');
    }
  }

  // Outside the try above on purpose: once the EHR has answered, a Redis hiccup must never be
  // mistaken for an EHR failure. If this save fails the job runs again and finds the operation
  // still `sending` (the apply step is idempotent) or already final (only the lane moves on).
  await deps.store.save(op);
  await recordAfterTheFact(deps, writeAppliedRecord(op, deps.clock.now()), log);
  if (outcome === 'succeeded' && op.kind.startsWith('appointment.') && op.patientId !== undefined) {
    // The cached appointment lists of this patient no longer match the EHR: during a later outage
    // the agent must see "unknown" rather than the appointment as it was before this write.
    await deps.readCache
      .forgetGroup(op.connection, appointmentsCacheGroup(op.patientId))
      .catch((error: unknown) => {
        log.warn({ err: error }, 'stale appointment lists not dropped from the cache');
      });
  }
  await publishEvents(deps, operationEvents(op));
  const heldSlot = heldSlotOf(op.payload);
  if (heldSlot !== undefined) {
    // Booked or not, the slot is no longer promised by the queue: the EHR's own status says the rest.
    await deps.slotHolds.release(op.connection, heldSlot, op.id).catch((error: unknown) => {
      log.warn({ err: error }, 'slot hold not released; it lapses once the booking is seen finished');
    });
  }
  try {
    await continueLane(deps, op);
  } catch (error) {
    // The final state stands: re-queueing a finished write would re-send it after later writes
    // of the same lane. The lane sweeper wakes the next operation instead.
    log.warn({ err: error, lane: op.lane }, 'could not wake the next write in the lane; the sweeper will');
  }
  return outcome;
}
