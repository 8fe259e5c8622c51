/**
 * Cancel, confirm, reschedule, convert (video or phone, same time) and hold for reschedule are
 * writes on the patient's lane. The patient comes from the appointment itself when the EHR answers
 * within the check budget (and a patientId that does not match is refused); while it is down or
 * slow the caller must name the patient, since the lane is the patient's.
 */
import type { AppointmentMode, AppointmentModel, VirtualMode } from '../domain/appointment';
import { acceptedCancellationReason } from '../domain/cancellation-reason';
import { ContinuumError, validationError, isEhrUnavailable } from '../domain/errors';
import type { Appointment } from '../domain/fhir';
import type { OperationPayload } from '../domain/operation';
import type { SlotModel } from '../domain/slot';
import {
  acceptHoldingSlot,
  freeSlotOrThrow,
  refuseMode,
  type BookingDeps,
} from './accept-appointment-booking';
import { acceptCheckBudget, NOT_YET, type AcceptCheckBudget } from './accept-check-budget';
import { acceptWrite, findExistingWrite, type AcceptedWrite, type WriteContext } from './accept-write';
import { CONVERTIBLE } from './apply-appointment-amendment';
import { SETTLED } from './apply-appointment-change';
import { withRunningProfile } from './pinned-profile';
import type { ConnectionContext } from './use-case-deps';
import { knownStart } from './known-starts';

interface ChangeOf<K extends string> {
  readonly kind: K;
  readonly appointmentId: string;
  /** Required while the EHR cannot say whose appointment it is; checked against it otherwise. */
  readonly patientId: string | undefined;
  /**
   * A call-center reason from the profile's cancellation-reason table, or one of the EHR's own codes
   * there (recorded as its value); anything else is refused. None for a confirmation.
   */
  readonly reason: string | undefined;
  /**
   * Words the EHR gets when no coded `reason` is given: sent as the text under the table's `other`
   * code (a site closure's free-text reason). Never checked against the table, never a code.
   */
  readonly reasonText?: string;
}

export type AppointmentChangeInput =
  | ChangeOf<'appointment.cancel' | 'appointment.confirm' | 'appointment.hold'>
  | (ChangeOf<'appointment.convert'> & { readonly mode: VirtualMode });

export interface RescheduleInput {
  readonly appointmentId: string;
  readonly patientId: string | undefined;
  readonly slotId: string;
  /** Unset: as the appointment being moved (in person when the EHR cannot say). */
  readonly mode: AppointmentMode | undefined;
  readonly appointmentType: string | undefined;
  readonly reason: string | undefined;
}

/** The appointment as the EHR has it now, or undefined when the EHR cannot say within the budget. */
async function currentAppointment(
  connection: ConnectionContext,
  appointmentId: string,
  budget: AcceptCheckBudget,
): Promise<AppointmentModel | undefined> {
  if (!(await connection.ehrAvailable())) return undefined;
  try {
    const answer = await budget.within(async () =>
      connection.mapping.readAppointment(
        await connection.ehr.read<Appointment>('Appointment', appointmentId, {
          deadlineMs: connection.readDeadlineMs,
        }),
      ),
    );
    return answer === NOT_YET ? undefined : answer;
  } catch (error) {
    if (isEhrUnavailable(error)) return undefined;
    if (error instanceof ContinuumError && error.code === 'NOT_FOUND') {
      throw new ContinuumError('NOT_FOUND', {
        detail: `no appointment ${appointmentId} in EHR ${connection.name}`,
      });
    }
    throw error;
  }
}

function patientOf(appointment: AppointmentModel | undefined, given: string | undefined): string {
  if (appointment !== undefined) {
    if (appointment.patientId === undefined) {
      throw new ContinuumError('EHR_REJECTED', { detail: 'the appointment names no patient' });
    }
    if (given !== undefined && given !== appointment.patientId) {
      throw new ContinuumError('NOT_FOUND', { detail: 'no such appointment for this patient' });
    }
    return appointment.patientId;
  }
  if (given === undefined) {
    throw validationError([{ field: 'patientId', message: 'is required while the EHR is unavailable' }]);
  }
  return given;
}

export async function acceptAppointmentChange(
  deps: BookingDeps,
  running: ConnectionContext,
  context: WriteContext,
  input: AppointmentChangeInput,
): Promise<AcceptedWrite> {
  // One profile version for the checks and the write's pin, whatever a reload does meanwhile.
  const connection = withRunningProfile(running);
  const request = { connection: connection.name, ...input };
  const existing = await findExistingWrite(deps, connection, context, request);
  if (existing) return existing;
  // Before the EHR is asked anything: a reason the profile cannot code is refused whatever the visit.
  const reason = acceptedCancellationReason(connection.mapping, input.reason) ?? input.reasonText;
  const appointment = await currentAppointment(
    connection,
    input.appointmentId,
    acceptCheckBudget(connection),
  );
  const patientId = patientOf(appointment, input.patientId);
  if (appointment !== undefined) refuseImpossible(input, appointment);
  // A confirmation takes no slot and frees none: its start never makes it urgent.
  const start =
    input.kind === 'appointment.confirm'
      ? undefined
      : (appointment?.start ?? (await knownStart(deps, connection.name, 'Appointment', input.appointmentId)));
  const common = { appointmentId: input.appointmentId, patientId, reason };
  const payload: OperationPayload =
    input.kind === 'appointment.convert'
      ? { kind: input.kind, ...common, mode: input.mode }
      : { kind: input.kind, ...common };
  return acceptWrite(deps, connection, context, request, payload, {
    ...(appointment === undefined ? { note: UNCHECKED_NOTE } : {}),
    appointmentStarts: [start],
  });
}

/**
 * Refuses at once (409) what the EHR's record shows cannot be done, rather than queue a write bound
 * to fail. A visit already in the wanted state is accepted: the worker finds it so and records the
 * success with no change, which keeps a closure's re-run and a caller's retry harmless.
 */
function refuseImpossible(input: AppointmentChangeInput, appointment: AppointmentModel): void {
  const { status } = appointment;
  if (input.kind === 'appointment.convert' && !CONVERTIBLE.has(status)) {
    throw new ContinuumError('CONFLICT', {
      detail: `the appointment is ${status}; only a booked visit can change its mode`,
    });
  }
  if (input.kind === 'appointment.hold' && (status === 'cancelled' || SETTLED.has(status))) {
    throw new ContinuumError('CONFLICT', {
      detail: `the appointment is ${status}; it cannot be held for reschedule`,
    });
  }
}

export async function acceptAppointmentReschedule(
  deps: BookingDeps,
  running: ConnectionContext,
  context: WriteContext,
  input: RescheduleInput,
): Promise<AcceptedWrite> {
  // One profile version for the checks and the write's pin, whatever a reload does meanwhile.
  const connection = withRunningProfile(running);
  const request = { kind: 'appointment.reschedule', connection: connection.name, ...input };
  const existing = await findExistingWrite(deps, connection, context, request);
  if (existing) return existing;
  const reason = acceptedCancellationReason(connection.mapping, input.reason);
  // One budget for the appointment and the new slot: a slow EHR costs the move once, not per read.
  const budget = acceptCheckBudget(connection);
  const appointment = await currentAppointment(connection, input.appointmentId, budget);
  const patientId = patientOf(appointment, input.patientId);
  if (appointment?.status === 'cancelled') {
    throw new ContinuumError('CONFLICT', { detail: 'the appointment to move is cancelled' });
  }
  const slot: SlotModel | undefined =
    appointment !== undefined
      ? await freeSlotOrThrow(connection, input.slotId, context.locations, budget)
      : undefined;
  const mode = input.mode ?? appointment?.mode ?? 'in-person';
  refuseMode(slot, mode);
  const starts =
    appointment === undefined
      ? await Promise.all([
          knownStart(deps, connection.name, 'Appointment', input.appointmentId),
          knownStart(deps, connection.name, 'Slot', input.slotId),
        ])
      : [appointment.start];
  return acceptHoldingSlot(
    deps,
    connection,
    context,
    request,
    input.slotId,
    slot !== undefined,
    {
      kind: 'appointment.reschedule',
      patientId,
      appointmentId: input.appointmentId,
      reason,
      booking: {
        slotId: input.slotId,
        slot,
        mode,
        appointmentType: input.appointmentType ?? appointment?.appointmentType,
        reason: appointment?.reason,
      },
    },
    starts,
  );
}

const UNCHECKED_NOTE =
  'accepted while the EHR was unavailable or slow to answer: the appointment is not yet confirmed; ' +
  'the EHR checks it when the change is sent';
