/**
 * POST /v1/mappings/reload: this process re-reads its mapping profiles from disk. Refused (422,
 * with the problems) when any check fails; the running versions then stay.
 */
import { ContinuumError } from '../domain/errors';
import type { ProfileReloadOutcome } from '../domain/mapping-catalog';
import type { UseCaseDeps } from './use-case-deps';

export async function reloadMappings(
  deps: Pick<UseCaseDeps, 'mappingCatalog'>,
): Promise<ProfileReloadOutcome> {
  const outcome = await deps.mappingCatalog.reload('api');
  if (!outcome.ok) {
    throw new ContinuumError('VALIDATION', {
      status: 422,
      detail: `the mapping profiles were not reloaded; the running versions stay: ${outcome.problems.length} problem(s)`,
      extra: { problems: outcome.problems, outcome },
    });
  }
  return outcome;
}
