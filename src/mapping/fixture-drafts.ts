/**
 * A fixture saved from the workbench: which members each kind takes (as profile-fixtures.ts reads
 * them), and the output the profile gives for them, which becomes `expected` unless one is given.
 */
import { APPOINTMENT_MODES, type AppointmentMode } from '../domain/appointment';
import type { CallbackRequest, CallLog } from '../domain/call';
import { ContinuumError } from '../domain/errors';
import type { Appointment, Patient, Schedule, Slot } from '../domain/fhir';
import type { FixtureKind } from '../domain/fixture-kinds';
import type { BookingRequest, MappingProfile } from '../domain/mapping-profile';
import type { NewPatient, PatientChanges } from '../domain/patient';

interface KindMembers {
  readonly required: readonly string[];
  readonly optional: readonly string[];
}

/** Every fixture kind's input members; the workbench computes the expected output of each. */
export const FIXTURE_MEMBERS: Readonly<Record<FixtureKind, KindMembers>> = {
  read: { required: ['input'], optional: [] },
  write: { required: ['input', 'changes'], optional: ['touched'] },
  create: { required: ['patient'], optional: [] },
  'appointment-read': { required: ['input'], optional: [] },
  'appointment-book': { required: ['slot', 'booking'], optional: ['schedule'] },
  'appointment-write': { required: ['action', 'input'], optional: ['mode', 'reason'] },
  'slot-read': { required: ['slot'], optional: ['schedule'] },
  'call-write': { required: ['call', 'encounterId'], optional: [] },
  'callback-write': { required: ['callback', 'authoredOn'], optional: [] },
};

export async function expectedOutput(
  profile: MappingProfile,
  kind: FixtureKind,
  members: Readonly<Record<string, unknown>>,
): Promise<unknown> {
  const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null)) as unknown;
  const input = members.input as never;
  switch (kind) {
    case 'read':
      return json(profile.readPatient(resourceOf<Patient>(input, 'Patient')));
    case 'create':
      return json(await profile.buildPatient(members.patient as NewPatient));
    case 'write':
      return json(
        await profile.applyPatientChanges(
          resourceOf<Patient>(input, 'Patient'),
          members.changes as PatientChanges,
        ),
      );
    case 'appointment-read':
      return json(profile.readAppointment(resourceOf<Appointment>(input, 'Appointment')));
    case 'appointment-write': {
      const appointment = resourceOf<Appointment>(input, 'Appointment');
      const reason = typeof members.reason === 'string' ? members.reason : undefined;
      if (members.action === 'cancel') return json(profile.cancelAppointment(appointment, reason));
      if (members.action === 'hold') return json(await profile.holdAppointment(appointment, reason));
      if (members.action !== 'convert') throw invalid('action', 'must be cancel, convert or hold');
      const mode = members.mode as AppointmentMode;
      if (!APPOINTMENT_MODES.includes(mode))
        throw invalid('mode', `must be one of ${APPOINTMENT_MODES.join(', ')}`);
      return json(await profile.convertAppointment(appointment, mode, reason));
    }
    case 'appointment-book':
      return json(
        await profile.buildAppointment(
          resourceOf<Slot>(members.slot, 'Slot', 'slot'),
          members.schedule === undefined
            ? undefined
            : resourceOf<Schedule>(members.schedule, 'Schedule', 'schedule'),
          members.booking as BookingRequest,
        ),
      );
    case 'slot-read':
      return json(
        profile.readSlot(
          resourceOf<Slot>(members.slot, 'Slot', 'slot'),
          members.schedule === undefined
            ? undefined
            : resourceOf<Schedule>(members.schedule, 'Schedule', 'schedule'),
        ),
      );
    case 'call-write': {
      const call = members.call as CallLog;
      const encounterId = String(members.encounterId);
      return {
        encounter: json(await profile.buildCallEncounter(call)),
        communication: json(await profile.buildCallCommunication(call, encounterId)),
      };
    }
    case 'callback-write':
      return json(
        await profile.buildCallbackTask(members.callback as CallbackRequest, String(members.authoredOn)),
      );
  }
}

function resourceOf<T extends { resourceType: string }>(
  value: unknown,
  resourceType: T['resourceType'],
  member = 'input',
): T {
  if (
    typeof value !== 'object' ||
    value === null ||
    (value as { resourceType?: unknown }).resourceType !== resourceType
  ) {
    throw invalid(member, `must be a FHIR ${resourceType}`);
  }
  return value as T;
}

function invalid(field: string, message: string): ContinuumError {
  return new ContinuumError('VALIDATION', {
    detail: `${field}: ${message}`,
    extra: { errors: [{ field, message }] },
  });
}
