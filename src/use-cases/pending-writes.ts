/**
 * An agent must see what they just did even while it waits for the EHR: reads overlay the
 * patient's queued writes on what the EHR (or the cache) says, each marked with its operation.
 */
import type { AppointmentModel } from '../domain/appointment';
import type { Operation } from '../domain/operation';
import { patientLane } from '../domain/operation';
import type { PatientChangeField, PatientChanges, PatientModel } from '../domain/patient';
import type { Tenant } from '../domain/access';
import { withDeadline } from '../domain/with-deadline';
import { tenantSees } from './tenant-visibility';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export interface PendingWrite {
  readonly operationId: string;
  readonly kind: Operation['kind'];
  readonly status: Operation['status'];
  /** Model fields the write changes, shown with their new values in the read. */
  readonly fields: readonly string[];
  readonly acceptedAt: string;
}

/** A patient's lane rarely holds more than a few writes; past this the overlay stops. */
const MAX_PENDING = 50;

/**
 * The writes still waiting in the patient's lane, oldest first; none when Redis cannot say in time.
 * A lane is shared by every tenant of the connection: `viewer` sees only its own tenant's writes
 * (undefined: the gateway itself, which sees all of them).
 */
export async function pendingPatientWrites(
  deps: Pick<UseCaseDeps, 'store' | 'logger'>,
  connection: ConnectionContext,
  patientId: string,
  viewer: Tenant | undefined,
): Promise<readonly Operation[]> {
  try {
    const ops = await withDeadline(
      deps.store.laneOperations(patientLane(connection.name, patientId), MAX_PENDING),
      250,
      'the write store',
    );
    return viewer === undefined ? ops : ops.filter((op) => tenantSees(viewer, op));
  } catch (error) {
    deps.logger.warn({ err: error, connection: connection.name }, 'pending writes not overlaid');
    return [];
  }
}

function changedFields(changes: PatientChanges): PatientChangeField[] {
  return (Object.keys(changes) as PatientChangeField[]).filter((field) => changes[field] !== undefined);
}

/**
 * Bookings still waiting in the patient's lane, as appointments marked pending: the agent who took
 * one during an outage sees it on the patient's list at once. Without slot details (taken while
 * the EHR was down) the times are unknown and the entry says only which slot it is for.
 */
export function pendingBookings(operations: readonly Operation[]): AppointmentModel[] {
  return operations.flatMap((op) => {
    const { payload } = op;
    if (payload.kind !== 'appointment.book' && payload.kind !== 'appointment.reschedule') return [];
    const booking =
      payload.kind === 'appointment.book' ? payload : { ...payload.booking, patientId: payload.patientId };
    const { slot } = booking;
    return [
      {
        id: op.id,
        version: undefined,
        status: 'booked',
        start: slot?.start,
        end: slot?.end,
        patientId: booking.patientId,
        slotId: booking.slotId,
        practitioner: slot?.practitioner,
        location: slot?.location,
        mode: booking.mode,
        appointmentType: booking.appointmentType,
        serviceType: slot?.serviceType,
        reason: booking.reason,
        cancellationReason: undefined,
        pending: { operationId: op.id, kind: op.kind, status: op.status },
      },
    ];
  });
}

/**
 * EHR appointments with a change still queued (a cancellation, a confirmation, a move, a change of
 * mode, a hold), marked pending with the latest operation: the agent sees "pending cancellation"
 * rather than a stale "booked". A queued conversion already shows its new mode and a queued hold
 * the `waitlist` status, as the EHR will once they land.
 */
export function markPendingChanges(
  appointments: readonly AppointmentModel[],
  operations: readonly Operation[],
): AppointmentModel[] {
  const changes = new Map<string, Operation[]>();
  for (const op of operations) {
    const { payload } = op;
    if (
      payload.kind === 'appointment.cancel' ||
      payload.kind === 'appointment.confirm' ||
      payload.kind === 'appointment.reschedule' ||
      payload.kind === 'appointment.convert' ||
      payload.kind === 'appointment.hold'
    ) {
      changes.set(payload.appointmentId, [...(changes.get(payload.appointmentId) ?? []), op]);
    }
  }
  return appointments.map((appointment) => {
    const ops = changes.get(appointment.id);
    const latest = ops?.at(-1);
    if (ops === undefined || latest === undefined) return appointment;
    let overlaid = appointment;
    for (const { payload } of ops) {
      if (payload.kind === 'appointment.convert') overlaid = { ...overlaid, mode: payload.mode };
      if (payload.kind === 'appointment.hold') overlaid = { ...overlaid, status: 'waitlist' };
    }
    return { ...overlaid, pending: { operationId: latest.id, kind: latest.kind, status: latest.status } };
  });
}

/** A phone change replaces every number on file, the undialable ones too. */
function withPhones(patient: PatientModel, phones: readonly string[]): PatientModel {
  const { undialablePhones: _replaced, ...rest } = patient;
  return { ...rest, phones: [...phones] };
}

/** The patient as it will be once the queued corrections land, in the order they will land. */
export function overlayPatientWrites(
  model: PatientModel,
  operations: readonly Operation[],
): { readonly patient: PatientModel; readonly pending: readonly PendingWrite[] } {
  let patient = model;
  const pending: PendingWrite[] = [];
  for (const op of operations) {
    if (op.payload.kind !== 'patient.update') continue;
    const { changes } = op.payload;
    patient = {
      ...(changes.phones !== undefined ? withPhones(patient, changes.phones) : patient),
      ...(changes.email !== undefined ? { email: changes.email ?? undefined } : {}),
      ...(changes.address !== undefined ? { address: changes.address ?? undefined } : {}),
      ...(changes.preferredLanguage !== undefined
        ? { preferredLanguage: changes.preferredLanguage ?? undefined }
        : {}),
    };
    pending.push({
      operationId: op.id,
      kind: op.kind,
      status: op.status,
      fields: changedFields(changes),
      acceptedAt: op.createdAt,
    });
  }
  return { patient, pending };
}
