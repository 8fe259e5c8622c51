/**
 * POST /v1/appointments: a booking joins the patient's lane like any write. When the EHR answers,
 * an unknown patient or slot is refused at once and a slot that is no longer free answers
 * SLOT_TAKEN at once, so the agent can offer another time while the caller is on the line. Among
 * callers racing for one slot through Continuum, the slot hold decides who gets it; during an
 * outage the booking is queued and the worker settles it against the EHR when it is back.
 */
import type { AppointmentMode } from '../domain/appointment';
import { ContinuumError, validationError, isEhrUnavailable } from '../domain/errors';
import type { Schedule, Slot } from '../domain/fhir';
import type { OperationPayload } from '../domain/operation';
import type { SlotModel } from '../domain/slot';
import { withDeadline } from '../domain/with-deadline';
import {
  acceptWrite,
  findExistingWrite,
  refusedByStorageLimits,
  type AcceptedWrite,
  type WriteContext,
} from './accept-write';
import { acceptCheckBudget, NOT_YET, type AcceptCheckBudget } from './accept-check-budget';
import { patientExists } from './accept-patient-update';
import { slotTaken } from './apply-appointment-booking';
import { newOperationId } from './operation-id';
import { knownStart } from './known-starts';
import { refuseClosedSite } from './closed-sites';
import { withRunningProfile } from './pinned-profile';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export interface BookingInput {
  readonly patientId: string;
  readonly slotId: string;
  readonly mode: AppointmentMode;
  readonly appointmentType: string | undefined;
  readonly reason: string | undefined;
}

export type BookingDeps = Pick<
  UseCaseDeps,
  | 'store'
  | 'queue'
  | 'clock'
  | 'logger'
  | 'phoneIndex'
  | 'enqueueTimeoutMs'
  | 'slotHolds'
  | 'storage'
  | 'readCache'
  | 'closedSites'
>;

export async function acceptAppointmentBooking(
  deps: BookingDeps,
  running: ConnectionContext,
  context: WriteContext,
  input: BookingInput,
): Promise<AcceptedWrite> {
  // One profile version for the checks and the write's pin, whatever a reload does meanwhile.
  const connection = withRunningProfile(running);
  const request = { kind: 'appointment.book', connection: connection.name, ...input };
  const existing = await findExistingWrite(deps, connection, context, request);
  if (existing) return existing;
  let slot: SlotModel | undefined;
  if (await connection.ehrAvailable()) {
    // One budget for every check of this booking: a slow EHR costs it once, not per read.
    const budget = acceptCheckBudget(connection);
    slot = await freeSlotOrThrow(connection, input.slotId, context.locations, budget);
    refuseMode(slot, input.mode);
    await refuseClosedSite(deps, connection.name, slot, input.mode);
    if (!connection.confirmedPatients.has(input.patientId))
      await patientExists(deps, connection, input.patientId, budget);
  }
  // Unchecked: the start the caller was offered, if remembered, still tells whether it is urgent.
  const start =
    slot === undefined ? await knownStart(deps, connection.name, 'Slot', input.slotId) : undefined;
  return acceptHoldingSlot(
    deps,
    connection,
    context,
    request,
    input.slotId,
    slot !== undefined,
    { kind: 'appointment.book', ...input, slot },
    [start],
  );
}

/** A visit mode the slot's calendar does not offer is refused before anything is queued. */
export function refuseMode(slot: SlotModel | undefined, mode: AppointmentMode): void {
  if (slot !== undefined && !slot.modes.includes(mode)) {
    throw validationError([{ field: 'mode', message: `this slot does not offer ${mode} visits` }]);
  }
}

/**
 * The slot as the EHR has it now, refused at once when it is not free; undefined when the EHR
 * cannot say within the write's check budget.
 */
export async function freeSlotOrThrow(
  connection: ConnectionContext,
  slotId: string,
  locations: readonly string[] | undefined,
  budget: AcceptCheckBudget,
): Promise<SlotModel | undefined> {
  const slot = await currentSlot(connection, slotId, budget);
  // A tenant confined to some locations cannot book elsewhere: the slot is, for it, not there.
  if (slot !== undefined && locations !== undefined && !locations.includes(slot.location?.id ?? '')) {
    throw new ContinuumError('NOT_FOUND', { detail: 'no slot with this id' });
  }
  if (slot !== undefined && slot.status !== 'free') throw slotTaken('the slot is no longer free');
  return slot;
}

/**
 * Takes the slot hold for a new operation, then stores and queues the operation. Among callers
 * racing for the slot through Continuum, the hold decides: the losers hear SLOT_TAKEN at once.
 */
export async function acceptHoldingSlot(
  deps: BookingDeps,
  connection: ConnectionContext,
  context: WriteContext,
  request: unknown,
  slotId: string,
  checked: boolean,
  payload: OperationPayload,
  /** Starts of the appointments the write moves, when known (the urgency rule reads them). */
  appointmentStarts: readonly (string | undefined)[] = [],
): Promise<AcceptedWrite> {
  const id = newOperationId(deps.clock.now());
  const hold = await withDeadline(
    deps.slotHolds.hold(connection.name, slotId, id),
    deps.enqueueTimeoutMs,
    'the slot holds',
  );
  if (!hold.held) throw slotTaken('another booking taken moments ago holds this slot');
  const accepted = await acceptWrite(
    deps,
    connection,
    context,
    request,
    payload,
    checked ? { id, appointmentStarts } : { id, note: UNCHECKED_NOTE, appointmentStarts },
  ).catch(async (error: unknown) => {
    // Refused before anything was stored: the slot is not promised to a write that does not exist.
    if (refusedByStorageLimits(error)) await deps.slotHolds.release(connection.name, slotId, id);
    throw error;
  });
  // The same request under the same key won the race: its own hold stands, ours goes.
  if (!accepted.created) await deps.slotHolds.release(connection.name, slotId, id);
  return accepted;
}

const UNCHECKED_NOTE =
  'accepted while the EHR was unavailable or slow to answer: the slot is not yet confirmed; ' +
  'the EHR checks it when the booking is sent';

/** The slot as the EHR has it now (with whom and where), undefined when the EHR cannot say in time. */
async function currentSlot(
  connection: ConnectionContext,
  slotId: string,
  budget: AcceptCheckBudget,
): Promise<SlotModel | undefined> {
  const deadline = { deadlineMs: connection.readDeadlineMs };
  try {
    const answer = await budget.within(async () => {
      const slot = await connection.ehr.read<Slot>('Slot', slotId, deadline);
      const scheduleId = slot.schedule.reference?.split('/').pop();
      const schedule =
        scheduleId === undefined
          ? undefined
          : await connection.ehr.read<Schedule>('Schedule', scheduleId, deadline);
      return connection.mapping.readSlot(slot, schedule);
    });
    return answer === NOT_YET ? undefined : answer;
  } catch (error) {
    if (isEhrUnavailable(error)) return undefined;
    if (error instanceof ContinuumError && error.code === 'NOT_FOUND') {
      throw new ContinuumError('NOT_FOUND', { detail: `no slot ${slotId} in EHR ${connection.name}` });
    }
    throw error;
  }
}
