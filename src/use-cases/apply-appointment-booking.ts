/**
 * Sends a queued booking to the EHR, exactly once in effect and never double-booking a slot:
 * 1. the slot is taken in the EHR first, by marking it busy under If-Match on the version read,
 *    and tagged with the operation's identifier, so of two bookings racing for it (through any
 *    number of gateways) exactly one wins and a re-run recognises its own mark;
 * 2. then the Appointment is created, carrying the operation's identifier, conditionally on it
 *    (If-None-Exist), and read back by it on any attempt after the first;
 * 3. if the EHR refuses the Appointment for good, the slot is freed again.
 */
import { ContinuumError } from '../domain/errors';
import type { Appointment, Schedule, Slot } from '../domain/fhir';
import {
  OPERATION_IDENTIFIER_SYSTEM,
  type AppointmentBookPayload,
  type Operation,
} from '../domain/operation';
import type { AppliedWrite } from './apply-patient-update';
import { createOnce, writeChange } from './ehr-writes';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

/** Concurrent edits of one Slot settle quickly; past this the attempt is handed back to the queue. */
const MAX_SLOT_ROUNDS = 4;

export function slotTaken(detail = 'the slot was booked by someone else'): ContinuumError {
  return new ContinuumError('SLOT_TAKEN', { detail });
}

const ours = (
  resource: { identifier?: { system?: string; value?: string }[] },
  operationId: string,
): boolean =>
  (resource.identifier ?? []).some(
    (i) => i.system === OPERATION_IDENTIFIER_SYSTEM && i.value === operationId,
  );

export async function applyAppointmentBooking(
  deps: Pick<UseCaseDeps, 'slotHolds' | 'logger'>,
  connection: ConnectionContext,
  op: Operation,
  payload: AppointmentBookPayload,
): Promise<AppliedWrite> {
  const { ehr, mapping } = connection;
  const deadline = { deadlineMs: connection.writeTimeoutMs };
  const token = `${OPERATION_IDENTIFIER_SYSTEM}|${op.id}`;
  const done = (appointment: Appointment, note?: string): AppliedWrite => ({
    resourceRef: `Appointment/${appointment.id ?? ''}`,
    resourceVersion: appointment.meta?.versionId,
    patientId: payload.patientId,
    ...(note !== undefined ? { note } : {}),
  });

  if (op.attempts > 1) {
    const [existing] = await ehr.search<Appointment>('Appointment', { identifier: token }, deadline);
    if (existing) return done(existing, 'an earlier attempt had booked it; nothing was sent again');
  }
  const holder = await deps.slotHolds.holder(op.connection, payload.slotId);
  if (holder !== undefined && holder !== op.id) {
    throw slotTaken('another booking waiting in the queue holds the slot');
  }

  const slot = await takeSlot(connection, op.id, payload.slotId);
  const scheduleId = slot.schedule.reference?.split('/').pop();
  const schedule =
    scheduleId === undefined ? undefined : await ehr.read<Schedule>('Schedule', scheduleId, deadline);
  const appointment = await mapping.buildAppointment(slot, schedule, payload);
  try {
    const { resource, created } = await createOnce(connection, op.id, appointment);
    return done(resource, created ? undefined : 'the EHR already held this booking; nothing new was created');
  } catch (error) {
    if (error instanceof ContinuumError && !error.retryable)
      await freeSlot(connection, payload.slotId, op.id);
    throw error;
  }
}

/** Marks the slot busy for this operation, or finds it already marked so by an earlier attempt. */
async function takeSlot(connection: ConnectionContext, operationId: string, slotId: string): Promise<Slot> {
  const deadline = { deadlineMs: connection.writeTimeoutMs };
  for (let round = 1; ; round++) {
    let slot: Slot;
    try {
      slot = await connection.ehr.read<Slot>('Slot', slotId, deadline);
    } catch (error) {
      if (error instanceof ContinuumError && error.code === 'NOT_FOUND')
        throw slotTaken('the slot no longer exists');
      throw error;
    }
    if (slot.status === 'busy' && ours(slot, operationId)) return slot;
    if (slot.status !== 'free') throw slotTaken();
    try {
      return await writeChange<Slot>(connection, slot, {
        ...slot,
        status: 'busy',
        identifier: [...(slot.identifier ?? []), { system: OPERATION_IDENTIFIER_SYSTEM, value: operationId }],
      });
    } catch (error) {
      // Someone changed the slot between our read and our write: read it again and decide again.
      if (!(error instanceof ContinuumError) || error.code !== 'CONFLICT') throw error;
      if (round >= MAX_SLOT_ROUNDS) {
        throw new ContinuumError('EHR_UNAVAILABLE', {
          detail: 'the slot kept changing in the EHR',
          cause: error,
        });
      }
    }
  }
}

/**
 * Offers the time again. With `takenBy`, only if that operation holds the slot (the undo of
 * takeSlot when its Appointment can never be created); without, whoever marked it busy (the slot
 * of a cancelled appointment). Booking marks go with it; concurrent edits are re-read.
 */
export async function freeSlot(
  connection: ConnectionContext,
  slotId: string,
  takenBy?: string,
): Promise<void> {
  const deadline = { deadlineMs: connection.writeTimeoutMs };
  const isMark = (i: { system?: string; value?: string }): boolean =>
    i.system === OPERATION_IDENTIFIER_SYSTEM && (takenBy === undefined || i.value === takenBy);
  for (let round = 1; round <= MAX_SLOT_ROUNDS; round++) {
    const slot = await connection.ehr.read<Slot>('Slot', slotId, deadline);
    if (slot.status === 'free') return;
    if (takenBy !== undefined && (slot.status !== 'busy' || !ours(slot, takenBy))) return;
    try {
      await writeChange<Slot>(connection, slot, {
        ...slot,
        status: 'free',
        identifier: (slot.identifier ?? []).filter((i) => !isMark(i)),
      });
      return;
    } catch (error) {
      if (!(error instanceof ContinuumError) || error.code !== 'CONFLICT') throw error;
    }
  }
}
