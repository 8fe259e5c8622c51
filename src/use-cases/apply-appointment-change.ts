/**
 * Changes to an existing appointment, each safe to run again: cancel (the appointment, then its
 * slot freed), confirm (the patient will come), and reschedule, a saga that books the new slot
 * first and cancels the old appointment only once the new one is in the EHR, so a failed booking
 * leaves the patient with the visit they had.
 */
import { ContinuumError } from '../domain/errors';
import type { Appointment } from '../domain/fhir';
import type { MappingProfile } from '../domain/mapping-profile';
import type { AppointmentChangePayload, AppointmentReschedulePayload, Operation } from '../domain/operation';
import { applyAppointmentBooking, freeSlot } from './apply-appointment-booking';
import type { AppliedWrite } from './apply-patient-update';
import { writeChange } from './ehr-writes';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

/** Concurrent edits of one appointment settle quickly; past this the attempt goes back to the queue. */
const MAX_ROUNDS = 4;

/** Statuses after which an appointment can no longer be changed by a caller. */
export const SETTLED: ReadonlySet<string> = new Set([
  'fulfilled',
  'noshow',
  'entered-in-error',
  'arrived',
  'checked-in',
]);

/**
 * The appointment as a cancellation writes it: status cancelled, the reason coded by the profile.
 * The workbench's try shows the same change without sending it.
 */
export function cancelledAppointment(
  mapping: Pick<MappingProfile, 'cancellationReason'>,
  current: Appointment,
  reason: string | undefined,
): Appointment | { readonly unchanged: string } {
  if (current.status === 'cancelled') return { unchanged: 'the appointment was already cancelled' };
  if (SETTLED.has(current.status)) {
    throw new ContinuumError('CONFLICT', {
      detail: `the appointment is ${current.status}; it can no longer be cancelled`,
    });
  }
  const cancelationReason = mapping.cancellationReason(reason);
  return { ...current, status: 'cancelled', ...(cancelationReason ? { cancelationReason } : {}) };
}

/** Records a step of a multi-step write on its receipt before the next step starts. */
export type Progress = (note: string) => Promise<void>;

async function readOwned(
  connection: ConnectionContext,
  appointmentId: string,
  patientId: string,
): Promise<Appointment> {
  const appointment = await connection.ehr.read<Appointment>('Appointment', appointmentId, {
    deadlineMs: connection.writeTimeoutMs,
  });
  const patient = appointment.participant.some((p) => p.actor?.reference === `Patient/${patientId}`);
  if (!patient) {
    throw new ContinuumError('NOT_FOUND', {
      detail: `Appointment/${appointmentId} is not an appointment of Patient/${patientId}`,
    });
  }
  return appointment;
}

type Change = Appointment | { readonly unchanged: string };

/**
 * Re-reads and re-applies `change` until the EHR takes it under If-Match, or says it is not needed.
 * A conflict means someone else edited the record in between: the change is made again on their
 * version, so edits of other fields are kept and a change already made is seen as such.
 */
export async function changeAppointment(
  connection: ConnectionContext,
  appointmentId: string,
  patientId: string,
  change: (current: Appointment) => Change | Promise<Change>,
): Promise<{ readonly appointment: Appointment; readonly note?: string }> {
  for (let round = 1; ; round++) {
    const current = await readOwned(connection, appointmentId, patientId);
    const next = await change(current);
    if ('unchanged' in next) return { appointment: current, note: next.unchanged };
    try {
      const updated = await writeChange(connection, current, next);
      return { appointment: updated };
    } catch (error) {
      if (!(error instanceof ContinuumError) || error.code !== 'CONFLICT') throw error;
      if (round >= MAX_ROUNDS) {
        throw new ContinuumError('EHR_UNAVAILABLE', {
          detail: 'the appointment kept changing in the EHR',
          cause: error,
        });
      }
    }
  }
}

export const done = (appointment: Appointment, patientId: string, note?: string): AppliedWrite => ({
  resourceRef: `Appointment/${appointment.id ?? ''}`,
  resourceVersion: appointment.meta?.versionId,
  patientId,
  ...(note !== undefined ? { note } : {}),
});

export async function applyAppointmentCancel(
  connection: ConnectionContext,
  payload: AppointmentChangePayload,
  attempt: number,
  progress: Progress,
): Promise<AppliedWrite> {
  const { appointment, note } = await cancel(
    connection,
    payload.appointmentId,
    payload.patientId,
    payload.reason,
    attempt,
    progress,
  );
  return done(appointment, payload.patientId, note);
}

/**
 * Cancels, then frees the slot. A slot is freed only when it may still be this visit's: not when
 * the visit was held for reschedule (the hold freed it, and it may be booked again), nor when the
 * visit was found cancelled on a first try (someone else cancelled it and freed its slot). A later
 * try of this write that finds it cancelled frees it, as an earlier try may have stopped between.
 * `progress`, when given, records the cancellation before the slot is freed: a try stopped between
 * the two (credentials refused) then counts, and the next one knows to free the slot.
 */
async function cancel(
  connection: ConnectionContext,
  appointmentId: string,
  patientId: string,
  reason: string | undefined,
  attempt: number,
  progress?: Progress,
): Promise<{ readonly appointment: Appointment; readonly note?: string }> {
  let heldBefore = false;
  const result = await changeAppointment(connection, appointmentId, patientId, (current) => {
    heldBefore = current.status === 'waitlist';
    return cancelledAppointment(connection.mapping, current, reason);
  });
  const free = result.note === undefined ? !heldBefore : attempt > 1;
  if (free && result.note === undefined && progress !== undefined) {
    await progress(`step 1 of 2: cancelled Appointment/${appointmentId}`);
  }
  if (free) await freeSlotsOf(connection, result.appointment);
  return result;
}

/** The time is offered again; the appointment's change is what the receipt is about. */
export async function freeSlotsOf(connection: ConnectionContext, appointment: Appointment): Promise<void> {
  for (const ref of appointment.slot ?? []) {
    const slotId = ref.reference?.split('/').pop();
    if (slotId !== undefined) await freeSlot(connection, slotId);
  }
}

export async function applyAppointmentConfirm(
  connection: ConnectionContext,
  payload: AppointmentChangePayload,
): Promise<AppliedWrite> {
  const patientRef = `Patient/${payload.patientId}`;
  const { appointment, note } = await changeAppointment(
    connection,
    payload.appointmentId,
    payload.patientId,
    (current) => {
      if (current.status === 'cancelled' || SETTLED.has(current.status)) {
        throw new ContinuumError('CONFLICT', {
          detail: `the appointment is ${current.status}; it cannot be confirmed`,
        });
      }
      const patient = current.participant.find((p) => p.actor?.reference === patientRef);
      const tentative = current.status === 'proposed' || current.status === 'pending';
      if (patient?.status === 'accepted' && !tentative)
        return { unchanged: 'the appointment was already confirmed' };
      return {
        ...current,
        status: tentative ? 'booked' : current.status,
        participant: current.participant.map((p) =>
          p.actor?.reference === patientRef ? { ...p, status: 'accepted' as const } : p,
        ),
      };
    },
  );
  return done(appointment, payload.patientId, note);
}

export async function applyAppointmentReschedule(
  deps: Pick<UseCaseDeps, 'slotHolds' | 'logger'>,
  connection: ConnectionContext,
  op: Operation,
  payload: AppointmentReschedulePayload,
  progress: Progress,
): Promise<AppliedWrite> {
  // The old appointment must still be there to move, and the caller's.
  const old = await readOwned(connection, payload.appointmentId, payload.patientId);
  if (old.status === 'cancelled' && !(op.attempts > 1)) {
    throw new ContinuumError('CONFLICT', { detail: 'the appointment to move is already cancelled' });
  }
  const booked = await applyAppointmentBooking(deps, connection, op, {
    kind: 'appointment.book',
    patientId: payload.patientId,
    ...payload.booking,
  });
  await progress(`step 1 of 2: booked ${booked.resourceRef}${booked.note ? ` (${booked.note})` : ''}`);
  const cancelled = await cancel(
    connection,
    payload.appointmentId,
    payload.patientId,
    payload.reason,
    op.attempts,
  );
  await progress(
    `step 2 of 2: cancelled Appointment/${payload.appointmentId}${cancelled.note ? ` (${cancelled.note})` : ''}`,
  );
  return { ...booked, note: `moved from Appointment/${payload.appointmentId}` };
}
