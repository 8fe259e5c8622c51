/**
 * The screen pop in one round trip: demographics plus the next appointments, read from the EHR in
 * parallel, each falling back to the continuity cache on its own.
 */
import type { AppointmentModel } from '../domain/appointment';
import { isEhrUnavailable } from '../domain/errors';
import type { Tenant } from '../domain/access';
import { older } from '../domain/freshness';
import {
  byStart,
  listPatientAppointments,
  overlayBookings,
  type AppointmentList,
} from './patient-appointments';
import { pendingPatientWrites } from './pending-writes';
import { readPatient, type PatientReadDeps, type PatientView } from './patient-read';
import type { ConnectionContext } from './use-case-deps';

export interface PatientSummary extends PatientView {
  readonly upcomingAppointments: readonly AppointmentModel[];
  /**
   * False when the EHR could not be asked and nothing was cached for this patient's appointments:
   * the list is then empty because it is unknown, not because there are none.
   */
  readonly appointmentsAvailable: boolean;
  /** As on the appointment list: the EHR's answer stopped before its last page. */
  readonly appointmentsTruncated?: true;
  readonly appointmentsTruncatedReason?: AppointmentList['truncatedReason'];
}

export interface SummaryOptions {
  /** How far ahead "upcoming" reaches, in days. */
  readonly days: number;
  /** Appointments listed at most. */
  readonly limit: number;
  /** The tenant reading: it sees only its own queued writes. Undefined: the gateway itself. */
  readonly viewer: Tenant | undefined;
}

/** Visits an agent should see as coming up: not cancelled, not done, not missed. */
export const UPCOMING_STATUSES = ['proposed', 'pending', 'booked', 'arrived', 'checked-in', 'waitlist'];

/**
 * A summary's "upcoming" reaches this many days ahead and lists this many visits, unless asked
 * otherwise. The cache warm-up reads the same window, so what it caches is what a default summary
 * falls back to during an outage.
 */
export const SUMMARY_DAYS = 90;
export const SUMMARY_LIMIT = 5;

export async function patientSummary(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  patientId: string,
  options: SummaryOptions,
): Promise<PatientSummary> {
  const now = deps.clock.now();
  const window = {
    from: now,
    to: new Date(now.getTime() + options.days * 86_400_000),
    statuses: UPCOMING_STATUSES,
  };
  // One read of the patient's queued writes serves both overlays.
  const queued = pendingPatientWrites(deps, connection, patientId, options.viewer);
  const [patient, upcoming] = await Promise.all([
    readPatient(deps, connection, patientId, queued),
    listPatientAppointments(deps, connection, patientId, window, queued).catch((error: unknown) => {
      // The patient alone still answers the agent's first question: who is calling.
      if (isEhrUnavailable(error)) return undefined;
      throw error;
    }),
  ]);
  if (upcoming === undefined) {
    // What the EHR holds is unknown, but bookings taken here and still queued are not.
    const bookings = overlayBookings(await queued, window);
    return {
      ...patient,
      upcomingAppointments: bookings.sort(byStart),
      appointmentsAvailable: false,
    };
  }
  return {
    ...patient,
    upcomingAppointments: withinLimit(upcoming.appointments, options.limit),
    appointmentsAvailable: true,
    freshness: older(patient.freshness, upcoming.freshness),
    ...(upcoming.truncated === true
      ? { appointmentsTruncated: true, appointmentsTruncatedReason: upcoming.truncatedReason }
      : {}),
  };
}

/**
 * The next `limit` visits, plus every booking still queued: the agent who just took one must see
 * it, even when its time is unknown (taken during an outage) or later than the first few.
 */
function withinLimit(appointments: readonly AppointmentModel[], limit: number): AppointmentModel[] {
  const queued = appointments.filter(
    (a) => a.pending?.kind === 'appointment.book' || a.pending?.kind === 'appointment.reschedule',
  );
  const rest = appointments.filter((a) => !queued.includes(a)).slice(0, limit);
  return [...rest, ...queued].sort(byStart);
}
