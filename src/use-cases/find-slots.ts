/**
 * Free slots, earliest first, by date range, service type, practitioner and location. FHIR cannot
 * ask "slots of practitioner X" directly (that is a chained search, which many EHRs refuse), so the
 * practitioner's and location's Schedules are found first and the Slot search names them. The
 * same holds for a service type kept on the Schedule rather than on each Slot (the mapping
 * profile's `serviceTypeSearch` says where this EHR keeps it).
 */
import { createHash } from 'node:crypto';
import type { Schedule, Slot } from '../domain/fhir';
import type { Freshness } from '../domain/freshness';
import type { AppointmentMode } from '../domain/appointment';
import type { SlotModel } from '../domain/slot';
import { readWithContinuity, type ContinuityDeps } from './continuity-read';
import { checkRange } from './patient-appointments';
import { closureWindows, withoutClosedSites } from './closed-sites';
import { rememberStarts } from './known-starts';
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
/** Pages of 100 Schedules followed when searching them by service type. */
const SCHEDULE_PAGES = 5;

export async function findFreeSlots(
  deps: ContinuityDeps & Pick<UseCaseDeps, 'slotHolds' | 'closedSites'>,
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
  const open = withoutClosedSites(read.value, await closureWindows(deps, connection.name));
  const slots = open.filter(offered).slice(0, query.limit);
  // What a caller is offered is what they may book while the EHR is down: its start decides urgency.
  if (read.freshness.source === 'ehr')
    await rememberStarts(deps, connection.name, 'Slot', slots, deps.clock.now());
  return { slots, freshness: read.freshness };
}

async function searchEhr(
  connection: ConnectionContext,
  query: SlotQuery,
  count: number,
): Promise<SlotModel[]> {
  const deadline = { deadlineMs: connection.readDeadline('slots') };
  const actors = [
    query.practitioner === undefined ? undefined : `Practitioner/${query.practitioner}`,
    query.location === undefined ? undefined : `Location/${query.location}`,
  ].flatMap((actor) => (actor === undefined ? [] : [actor]));
  let schedules: string[] | undefined;
  for (const actor of actors) {
    const found = await connection.ehr.search<Schedule>('Schedule', { actor, _count: '100' }, deadline);
    const ids = idsOf(found);
    // Both given: the schedules of that practitioner at that location.
    schedules = schedules === undefined ? ids : schedules.filter((id) => ids.includes(id));
  }
  if (schedules !== undefined && schedules.length === 0) return [];

  const serviceType = query.serviceType;
  const where = serviceType === undefined ? 'slot' : connection.mapping.slotServiceTypeSearch;
  const searches: Promise<SlotModel[]>[] = [];
  if (where !== 'schedule') {
    searches.push(
      searchSlots(connection, query, count, {
        ...(schedules !== undefined ? { schedule: schedules } : {}),
        ...(serviceType !== undefined ? { serviceType } : {}),
      }),
    );
  }
  if (serviceType !== undefined && where !== 'slot') {
    searches.push(
      schedulesOffering(connection, serviceType, actors[0], schedules).then((ids) =>
        ids.length === 0
          ? []
          : searchSlots(connection, query, count, { schedule: ids, inheritsServiceType: serviceType }),
      ),
    );
  }
  const byId = new Map<string, SlotModel>();
  for (const slots of await Promise.all(searches)) for (const slot of slots) byId.set(slot.id, slot);
  return [...byId.values()].sort((a, b) => Date.parse(a.start ?? '') - Date.parse(b.start ?? ''));
}

function idsOf(resources: readonly { readonly id?: string }[]): string[] {
  return resources.flatMap((r) => (r.id === undefined ? [] : [r.id]));
}

/**
 * The Schedules offering a service type (narrowed on the EHR by one of the asked actors, and here
 * by every one), for EHRs that keep the service type on the Schedule rather than on each Slot.
 */
async function schedulesOffering(
  connection: ConnectionContext,
  serviceType: string,
  actor: string | undefined,
  within: readonly string[] | undefined,
): Promise<string[]> {
  const found = await connection.ehr.searchPages<Schedule>(
    'Schedule',
    { 'service-type': serviceType, ...(actor !== undefined ? { actor } : {}), _count: '100' },
    { deadlineMs: connection.readDeadline('slots'), maxPages: SCHEDULE_PAGES },
  );
  // Cut short (more Schedules than pages read, a refused next link), fewer slots are offered; the
  // adapter logs why. Unlike a patient's visit list, an offer of the earliest free slots is never
  // read as complete, so the answer does not carry it.
  const ids = idsOf(found.matches);
  return within === undefined ? ids : ids.filter((id) => within.includes(id));
}

/** A Slot's own service type codes, when it has any: they override its Schedule's. */
function ownServiceTypes(slot: Slot): string[] {
  return (slot.serviceType ?? []).flatMap((concept) =>
    (concept.coding ?? []).flatMap((coding) => (coding.code === undefined ? [] : [coding.code])),
  );
}

async function searchSlots(
  connection: ConnectionContext,
  query: SlotQuery,
  count: number,
  filter: {
    readonly schedule?: readonly string[];
    readonly serviceType?: string;
    /** The Schedules searched offer this service type: keep Slots that do not say otherwise. */
    readonly inheritsServiceType?: string;
  },
): Promise<SlotModel[]> {
  const { matches, included } = await connection.ehr.searchPages<Slot>(
    'Slot',
    {
      status: 'free',
      start: [`ge${query.from.toISOString()}`, `lt${query.to.toISOString()}`],
      ...(filter.schedule !== undefined
        ? { schedule: filter.schedule.map((id) => `Schedule/${id}`).join(',') }
        : {}),
      ...(filter.serviceType !== undefined ? { 'service-type': filter.serviceType } : {}),
      _sort: 'start',
      _count: String(count),
      _include: 'Slot:schedule',
    },
    { deadlineMs: connection.readDeadline('slots') },
  );
  const inherits = filter.inheritsServiceType;
  const byId = new Map(
    included.flatMap((r) => (r.resourceType === 'Schedule' && r.id !== undefined ? [[r.id, r]] : [])),
  );
  return matches
    .filter((slot) => {
      if (inherits === undefined) return true;
      const own = ownServiceTypes(slot);
      return own.length === 0 || own.includes(inherits);
    })
    .map((slot) => {
      const scheduleId = slot.schedule.reference?.split('/').pop();
      return connection.mapping.readSlot(slot, scheduleId === undefined ? undefined : byId.get(scheduleId));
    });
}
