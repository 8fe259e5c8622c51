/**
 * A tenant configured with `locations` sees only the slots and appointments at those locations:
 * two call centers sharing one EHR each book into their own clinics. Something whose location is
 * not known is not shown to such a tenant, since it cannot be placed in its clinics.
 */
import type { Tenant } from '../domain/access';
import type { ReferenceModel } from '../domain/appointment';
import { ContinuumError } from '../domain/errors';
import { older } from '../domain/freshness';
import { findFreeSlots, type SlotList, type SlotQuery } from './find-slots';
import type { ConnectionContext } from './use-case-deps';

export function seesLocation(tenant: Tenant, location: ReferenceModel | undefined): boolean {
  if (tenant.locations === undefined) return true;
  return location !== undefined && tenant.locations.includes(location.id);
}

export function tenantAppointments<T extends { readonly location: ReferenceModel | undefined }>(
  tenant: Tenant,
  appointments: readonly T[],
): T[] {
  return appointments.filter((a) => seesLocation(tenant, a.location));
}

/** Free slots the tenant may offer: at the location asked for, else at each of its locations. */
export async function findTenantSlots(
  deps: Parameters<typeof findFreeSlots>[0],
  connection: ConnectionContext,
  query: SlotQuery,
  tenant: Tenant,
): Promise<SlotList> {
  const { locations } = tenant;
  if (locations === undefined) return findFreeSlots(deps, connection, query);
  if (query.location !== undefined) {
    if (!locations.includes(query.location)) {
      throw new ContinuumError('NOT_FOUND', { detail: 'no location with this id' });
    }
    return findFreeSlots(deps, connection, query);
  }
  const lists = await Promise.all(
    locations.map((location) => findFreeSlots(deps, connection, { ...query, location })),
  );
  const slots = lists
    .flatMap((l) => l.slots)
    .sort((a, b) => (a.start ?? '').localeCompare(b.start ?? ''))
    .slice(0, query.limit);
  const freshness = lists.map((l) => l.freshness).reduce((a, b) => older(a, b));
  return { slots, freshness };
}
