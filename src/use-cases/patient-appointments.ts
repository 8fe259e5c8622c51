/**
 * A patient's appointments in a date range, in the call-center model, earliest first. The EHR is
 * asked for whole days (so one cached answer serves every query within them, as IVRs repeat the
 * same "my next visits" question) and the answer is narrowed to the exact range asked.
 */
import { rememberStarts } from './known-starts';
import type { AppointmentModel } from '../domain/appointment';
import { validationError } from '../domain/errors';
import type { Appointment } from '../domain/fhir';
import type { Freshness } from '../domain/freshness';
import type { Operation } from '../domain/operation';
import type { SearchTruncationReason } from '../domain/search-result';
import { readWithContinuity, type ContinuityDeps } from './continuity-read';
import { markPendingChanges, pendingBookings } from './pending-writes';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export interface AppointmentQuery {
  readonly from: Date;
  readonly to: Date;
  /** FHIR Appointment.status values to keep; empty = all. */
  readonly statuses: readonly string[];
}

export interface AppointmentList {
  readonly patientId: string;
  readonly from: string;
  readonly to: string;
  readonly appointments: readonly AppointmentModel[];
  readonly freshness: Freshness;
  /**
   * Present when the EHR holds more appointments in the range than it gave (its answer stopped
   * before the last page): the list must not be read as the patient's every visit.
   */
  readonly truncated?: true;
  readonly truncatedReason?: SearchTruncationReason;
}

/** What the EHR answered, as cached: the list, and why it is incomplete when it is. */
interface EhrAppointments {
  readonly appointments: readonly AppointmentModel[];
  readonly truncatedReason?: SearchTruncationReason;
}

/** Entries cached before lists could be incomplete are bare arrays: each was a whole answer. */
function cachedList(value: EhrAppointments | readonly AppointmentModel[]): EhrAppointments {
  return Array.isArray(value) ? { appointments: value } : (value as EhrAppointments);
}

/** The longest range one query may cover; IVRs and screens ask for weeks, not years. */
const MAX_RANGE_DAYS = 400;
/** Pages of the EHR's answer followed at most (each up to 100 appointments). */
const MAX_PAGES = 5;
const DAY_MS = 86_400_000;

const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** The cached appointment lists of one patient, whatever their range: one write makes them all stale. */
export function appointmentsCacheGroup(patientId: string): string {
  return `appointments:${patientId}`;
}

/** Earliest first; entries whose time is not known yet (a booking taken during an outage) last. */
export const byStart = (a: AppointmentModel, b: AppointmentModel): number =>
  (a.start === undefined ? Infinity : Date.parse(a.start)) -
  (b.start === undefined ? Infinity : Date.parse(b.start));

function inRange(appointment: AppointmentModel, query: AppointmentQuery, unknownIsIn: boolean): boolean {
  if (appointment.start === undefined) return unknownIsIn;
  const start = Date.parse(appointment.start);
  return !Number.isNaN(start) && start >= query.from.getTime() && start < query.to.getTime();
}

/** The patient's queued bookings that belong in this list, marked pending. */
export function overlayBookings(
  operations: readonly Operation[],
  query: AppointmentQuery,
): AppointmentModel[] {
  if (query.statuses.length > 0 && !query.statuses.includes('booked')) return [];
  return pendingBookings(operations).filter((a) => inRange(a, query, true));
}

export function checkRange(from: Date, to: Date): void {
  if (Number.isNaN(from.getTime())) throw validationError([{ field: 'from', message: 'is not a date' }]);
  if (Number.isNaN(to.getTime())) throw validationError([{ field: 'to', message: 'is not a date' }]);
  if (to.getTime() <= from.getTime()) throw validationError([{ field: 'to', message: 'must be after from' }]);
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
    throw validationError([{ field: 'to', message: `must be at most ${MAX_RANGE_DAYS} days after from` }]);
  }
}

export type AppointmentListDeps = ContinuityDeps & Pick<UseCaseDeps, 'store'>;

export async function listPatientAppointments(
  deps: AppointmentListDeps,
  connection: ConnectionContext,
  patientId: string,
  query: AppointmentQuery,
  /** The patient's queued writes the reader may see (`pendingPatientWrites`). */
  queued: Promise<readonly Operation[]>,
): Promise<AppointmentList> {
  checkRange(query.from, query.to);
  const firstDay = utcDay(query.from);
  // The day after the one `to` falls in: whole days, end exclusive.
  const afterLastDay = utcDay(new Date(Date.parse(utcDay(new Date(query.to.getTime() - 1))) + DAY_MS));
  const statuses = [...new Set(query.statuses)].sort();
  const cacheKey = `appointments:${patientId}:${firstDay}:${afterLastDay}:${statuses.join(',')}`;

  const [read, operations] = await Promise.all([
    readWithContinuity<EhrAppointments | readonly AppointmentModel[]>(
      deps,
      connection,
      cacheKey,
      async (): Promise<EhrAppointments> => {
        const found = await connection.ehr.searchPages<Appointment>(
          'Appointment',
          {
            patient: `Patient/${patientId}`,
            date: [`ge${firstDay}`, `lt${afterLastDay}`],
            ...(statuses.length > 0 ? { status: statuses.join(',') } : {}),
            _sort: 'date',
            _count: '100',
          },
          { deadlineMs: connection.readDeadline('appointments'), maxPages: MAX_PAGES },
        );
        return {
          appointments: found.matches.map((resource) => connection.mapping.readAppointment(resource)),
          ...(found.truncated !== undefined ? { truncatedReason: found.truncated.reason } : {}),
        };
      },
      { group: appointmentsCacheGroup(patientId) },
    ),
    queued,
  ]);

  const ehr = cachedList(read.value);
  // An agent may cancel or move what it was shown while the EHR is down: its start decides urgency.
  if (read.freshness.source === 'ehr')
    await rememberStarts(deps, connection.name, 'Appointment', ehr.appointments, deps.clock.now());
  const appointments = [
    ...markPendingChanges(
      ehr.appointments.filter((a) => inRange(a, query, false)),
      operations,
    ),
    ...overlayBookings(operations, query),
  ].sort(byStart);
  return {
    patientId,
    from: query.from.toISOString(),
    to: query.to.toISOString(),
    appointments,
    freshness: read.freshness,
    ...(ehr.truncatedReason !== undefined ? { truncated: true, truncatedReason: ehr.truncatedReason } : {}),
  };
}
