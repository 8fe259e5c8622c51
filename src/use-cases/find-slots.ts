/**
 * Free slots, earliest first, by date range, service type, practitioner and location. FHIR cannot
 * ask "slots of practitioner X" directly (that is a chained search, which many EHRs refuse), so the
 * practitioner's and location's Schedules are found first and the Slot search names them.
 */
import { createHash } from 'node:crypto';
import type { Schedule, Slot } from '../domain/fhir';
import type { Freshness } from '../domain/freshness';
import type { AppointmentMode } from '../domain/appointment';
import type { SlotModel } from '../domain/slot';
import { readWithContinuity, type ContinuityDeps } from './continuity-read';
import { checkRange } from './patient-appointments';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export interface SlotQuery {
  readonly from: Date;
  readonly to: Date;
  /** A service type code (FHIR Slot `service-type`, e.g. 124 General Practice). */
  readonly serviceType: string | undefined;
  /** Practitioner id. */
  readonly practitioner: string | undefined;
  /** Location id. */
  readonly location: string | undefined;
  /** Only slots that offer this kind of visit. */
  readonly mode: AppointmentMode | undefined;
  readonly limit: number;
}

export interface SlotList {
  readonly slots: readonly SlotModel[];
  readonly freshness: Freshness;
}

/** Slots asked of the EHR in one search at most. */
const MAX_COUNT = 300;

export async function findFreeSlots(
  deps: ContinuityDeps & Pick<UseCaseDeps, 'slotHolds'>,
  connection: ConnectionContext,
  query: SlotQuery,
): Promise<SlotList> {
  checkRange(query.from, query.to);
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        query.from,
        query.to,
        query.serviceType,
        query.practitioner,
        query.location,
        query.mode,
      ]),
    )
    .digest('base64url')
    .slice(0, 22);
  // Slots promised to bookings still in the queue are not offered to the next caller; they are a
  // few, so asking for that many more still fills the page.
  const held = await deps.slotHolds.heldSlots(connection.name).catch(() => new Set<string>());
  // Slots of other modes are left out after the search: ask for more so the page still fills.
  const count = Math.min(MAX_COUNT, (query.limit + held.size) * (query.mode === undefined ? 1 : 3));
  const read = await readWithContinuity(deps, connection, `slots:${key}:${count}`, () =>
    searchEhr(connection, query, count),
  );
  const offered = (slot: SlotModel): boolean =>
    !held.has(slot.id) &&
    slot.status === 'free' &&
    (query.mode === undefined || slot.modes.includes(query.mode));
  return {
    slots: read.value.filter(offered).slice(0, query.limit),
    freshness: read.freshness,
  };
}

async function searchEhr(
  connection: ConnectionContext,
  query: SlotQuery,
  count: number,
): Promise<SlotModel[]> {
  const deadline = { deadlineMs: connection.readDeadline('slots') };
  let schedules: string[] | undefined;
  for (const actor of [
    query.practitioner === undefined ? undefined : `Practitioner/${query.practitioner}`,
    query.location === undefined ? undefined : `Location/${query.location}`,
  ]) {
    if (actor === undefined) continue;
    const found = await connection.ehr.search<Schedule>('Schedule', { actor, _count: '100' }, deadline);
    const ids = found.flatMap((s) => (s.id === undefined ? [] : [s.id]));
    // Both given: the schedules of that practitioner at that location.
    schedules = schedules === undefined ? ids : schedules.filter((id) => ids.includes(id));
  }
  if (schedules !== undefined && schedules.length === 0) return [];

  const { matches, included } = await connection.ehr.searchPages<Slot>(
    'Slot',
    {
      status: 'free',
      start: [`ge${query.from.toISOString()}`, `lt${query.to.toISOString()}`],
      ...(schedules !== undefined ? { schedule: schedules.map((id) => `Schedule/${id}`).join(',') } : {}),
      ...(query.serviceType !== undefined ? { 'service-type': query.serviceType } : {}),
      _sort: 'start',
      _count: String(count),
      _include: 'Slot:schedule',
    },
    deadline,
  );
  const byId = new Map(
    included.flatMap((r) => (r.resourceType === 'Schedule' && r.id !== undefined ? [[r.id, r]] : [])),
  );
  return matches
    .map((slot) => {
      const scheduleId = slot.schedule.reference?.split('/').pop();
      return connection.mapping.readSlot(slot, scheduleId === undefined ? undefined : byId.get(scheduleId));
    })
    .sort((a, b) => Date.parse(a.start ?? '') - Date.parse(b.start ?? ''));
}
