/**
 * Amendments a site closure makes to a visit without moving it: convert it to a video or phone
 * visit (same time, same slot), or hold it for reschedule (FHIR `waitlist`, its slot offered
 * again). Both are versioned updates made through the mapping profile, and both are safe to run
 * again: a visit already in the wanted state is a success with no change, so a replay or a retry
 * after an ambiguous failure never applies twice.
 */
import { ContinuumError } from '../domain/errors';
import type { AppointmentConvertPayload, AppointmentHoldPayload } from '../domain/operation';
import { changeAppointment, done, freeSlotsOf, SETTLED, type Progress } from './apply-appointment-change';
import type { AppliedWrite } from './apply-patient-update';
import type { ConnectionContext } from './use-case-deps';

/** Statuses of a visit still to take place at its time: the only ones a conversion may change. */
export const CONVERTIBLE: ReadonlySet<string> = new Set(['booked', 'pending', 'proposed']);

export async function applyAppointmentConvert(
  connection: ConnectionContext,
  payload: AppointmentConvertPayload,
): Promise<AppliedWrite> {
  const { appointment, note } = await changeAppointment(
    connection,
    payload.appointmentId,
    payload.patientId,
    async (current) => {
      if (!CONVERTIBLE.has(current.status)) {
        throw new ContinuumError('CONFLICT', {
          detail: `the appointment is ${current.status}; only a booked visit can change its mode`,
        });
      }
      if (connection.mapping.readAppointment(current).mode === payload.mode)
        return { unchanged: `the visit was already a ${payload.mode} visit` };
      return connection.mapping.convertAppointment(current, payload.mode, payload.reason);
    },
  );
  return done(appointment, payload.patientId, note);
}

/**
 * `attempt` is the operation's try: a visit found already held on a later try may have been held
 * by an earlier try of this write that stopped before freeing the slot, so the slot is freed then;
 * on a first try it was held by someone else, whose slot may meanwhile be booked again, so the
 * slot is left alone. The hold is recorded as a step before the slot is freed, so a try stopped
 * between the two (credentials refused: a try not otherwise counted) still counts, and the next
 * one frees the slot.
 */
export async function applyAppointmentHold(
  connection: ConnectionContext,
  payload: AppointmentHoldPayload,
  attempt: number,
  progress: Progress,
): Promise<AppliedWrite> {
  const result = await changeAppointment(
    connection,
    payload.appointmentId,
    payload.patientId,
    async (current) => {
      if (current.status === 'waitlist') return { unchanged: 'the visit was already held for reschedule' };
      if (current.status === 'cancelled' || SETTLED.has(current.status)) {
        throw new ContinuumError('CONFLICT', {
          detail: `the appointment is ${current.status}; it cannot be held for reschedule`,
        });
      }
      return connection.mapping.holdAppointment(current, payload.reason);
    },
  );
  if (result.note === undefined) {
    await progress(`step 1 of 2: held Appointment/${payload.appointmentId} for reschedule`);
  }
  if (result.note === undefined || attempt > 1) await freeSlotsOf(connection, result.appointment);
  return done(result.appointment, payload.patientId, result.note);
}
