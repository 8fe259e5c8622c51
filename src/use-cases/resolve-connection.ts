import type { Tenant } from '../domain/access';
import { ContinuumError } from '../domain/errors';
import { withRunningProfile } from './pinned-profile';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

/**
 * The EHR connection a request names, among those its tenant may use; without a name, the tenant's
 * default (the gateway's own default when the tenant has it). A connection of another tenant is
 * refused exactly like one that does not exist, so a caller learns nothing about other tenants.
 * The request gets the profile version running when it arrived, for all it does (a reload meanwhile
 * applies to the next request).
 */
export function resolveConnection(
  deps: Pick<UseCaseDeps, 'connections' | 'defaultConnection'>,
  name: string | undefined,
  tenant: Tenant,
): ConnectionContext {
  const wanted =
    name ??
    (tenant.connections.includes(deps.defaultConnection) ? deps.defaultConnection : tenant.connections[0]);
  const found =
    wanted !== undefined && tenant.connections.includes(wanted) ? deps.connections.get(wanted) : undefined;
  if (!found) {
    throw new ContinuumError('NOT_FOUND', {
      detail: `no EHR connection named "${wanted ?? ''}"`,
      extra: { errors: [{ field: 'connection', message: 'unknown EHR connection' }] },
    });
  }
  return withRunningProfile(found);
}
