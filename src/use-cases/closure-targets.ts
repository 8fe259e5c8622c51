/**
 * Finding what a closure changes: the visits still to come (booked, pending, proposed) at the
 * closed locations whose start falls in the window, paged through the EHR. The EHR's search
 * narrows; the mapping profile's reader decides, so a profile that keeps the location elsewhere
 * than the standard participant still has its own reading respected.
 */
import type { AppointmentModel } from '../domain/appointment';
import { CLOSABLE_APPOINTMENT_STATUSES, type ClosureTarget } from '../domain/closure';
import { ContinuumError } from '../domain/errors';
import type { Appointment, Location } from '../domain/fhir';
import type { ConnectionContext } from './use-case-deps';

/** Pages of 100 followed at most: 20,000 visits, far beyond a region's clinics for a week. */
const MAX_PAGES = 200;
/** Each page may take this long: finding runs in the background or for an operator, not an IVR. */
const PAGE_DEADLINE_MS = 15_000;

export interface FoundTargets {
  readonly targets: readonly ClosureTarget[];
  readonly locationNames: Readonly<Record<string, string>>;
}

function targetOf(appointment: AppointmentModel): ClosureTarget | undefined {
  if (appointment.patientId === undefined || appointment.start === undefined) return undefined;
  if (appointment.location === undefined) return undefined;
  return {
    appointmentId: appointment.id,
    patientId: appointment.patientId,
    start: appointment.start,
    end: appointment.end,
    location: appointment.location,
    practitioner: appointment.practitioner,
    mode: appointment.mode,
  };
}

async function locationNames(
  connection: ConnectionContext,
  locations: readonly string[],
  found: readonly ClosureTarget[],
): Promise<Record<string, string>> {
  const names: Record<string, string> = {};
  for (const target of found) {
    if (target.location.name !== undefined) names[target.location.id] = target.location.name;
  }
  const missing = locations.filter((id) => names[id] === undefined);
  if (missing.length === 0) return names;
  try {
    const result = await connection.ehr.search<Location>(
      'Location',
      { _id: missing.join(','), _count: String(missing.length) },
      { deadlineMs: PAGE_DEADLINE_MS },
    );
    for (const location of result) {
      if (location.id !== undefined && location.name !== undefined) names[location.id] = location.name;
    }
  } catch {
    // Names only dress what patients are told; the location id stands in for a missing one.
  }
  return names;
}

export async function findClosureTargets(
  connection: ConnectionContext,
  window: { readonly locations: readonly string[]; readonly from: string; readonly to: string },
): Promise<FoundTargets> {
  const from = Date.parse(window.from);
  const to = Date.parse(window.to);
  const wanted = new Set(window.locations);
  const found = await connection.ehr.searchPages<Appointment>(
    'Appointment',
    {
      location: window.locations.map((id) => `Location/${id}`).join(','),
      date: [`ge${window.from}`, `lt${window.to}`],
      status: CLOSABLE_APPOINTMENT_STATUSES.join(','),
      _sort: 'date',
      _count: '100',
    },
    { deadlineMs: PAGE_DEADLINE_MS, maxPages: MAX_PAGES },
  );
  if (found.truncated !== undefined) {
    // A closure that silently leaves visits out is worse than one that does not start.
    throw new ContinuumError('EHR_UNAVAILABLE', {
      detail: `the EHR's answer stopped before its last page (${found.truncated.reason}); the search is tried again`,
      retryAfterSeconds: 5,
    });
  }
  const seen = new Set<string>();
  const targets: ClosureTarget[] = [];
  for (const resource of found.matches) {
    const appointment = connection.mapping.readAppointment(resource);
    if (seen.has(appointment.id)) continue;
    if (!(CLOSABLE_APPOINTMENT_STATUSES as readonly string[]).includes(appointment.status)) continue;
    const target = targetOf(appointment);
    if (target === undefined || !wanted.has(target.location.id)) continue;
    const start = Date.parse(target.start);
    if (Number.isNaN(start) || start < from || start >= to) continue;
    seen.add(appointment.id);
    targets.push(target);
  }
  targets.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  return { targets, locationNames: await locationNames(connection, window.locations, targets) };
}
