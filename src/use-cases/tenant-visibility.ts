/**
 * What a tenant may see of the write pipeline. A write belongs to the tenant whose client accepted
 * it; one accepted before clients existed belongs to every tenant of its connection.
 */
import type { Tenant } from '../domain/access';
import { ContinuumError } from '../domain/errors';
import type { Operation } from '../domain/operation';

export function tenantSees(tenant: Tenant, op: Operation): boolean {
  if (!tenant.connections.includes(op.connection)) return false;
  return op.owner === undefined || op.owner.tenant === tenant.name;
}

/** The same 404 as an id that does not exist: another tenant's ids are not confirmed. */
export function visibleOrNotFound(tenant: Tenant, op: Operation | undefined): Operation {
  if (op === undefined || !tenantSees(tenant, op)) {
    throw new ContinuumError('NOT_FOUND', { detail: 'no operation with this id' });
  }
  return op;
}
