/**
 * POST /v1/mappings/reload: this process re-reads its mapping profiles from disk. Refused (422,
 * with the problems) when any check fails; the running versions then stay. Reloading is
 * process-wide, every tenant's profiles at once; the caller sees its own tenant's profiles and
 * their problems only.
 */
import type { Tenant } from '../domain/access';
import { ContinuumError } from '../domain/errors';
import { reloadOutcomeFor, type TenantReloadOutcome } from './tenant-reload-view';
import type { UseCaseDeps } from './use-case-deps';

/** The names of the profiles the tenant's connections run. */
export function tenantProfileNames(
  deps: Pick<UseCaseDeps, 'connections'>,
  tenant: Pick<Tenant, 'connections'>,
): Set<string> {
  return new Set(
    tenant.connections.flatMap((name) => {
      const connection = deps.connections.get(name);
      return connection === undefined ? [] : [connection.mapping.name];
    }),
  );
}

export async function reloadMappings(
  deps: Pick<UseCaseDeps, 'mappingCatalog' | 'connections'>,
  tenant: Pick<Tenant, 'connections'>,
): Promise<TenantReloadOutcome> {
  const outcome = reloadOutcomeFor(await deps.mappingCatalog.reload('api'), tenantProfileNames(deps, tenant));
  if (!outcome.ok) {
    throw new ContinuumError('VALIDATION', {
      status: 422,
      detail: `the mapping profiles were not reloaded; the running versions stay: ${outcome.problems.length} problem(s)`,
      extra: { problems: outcome.problems, outcome },
    });
  }
  return outcome;
}
