/**
 * A reload outcome as one tenant may see it. Reloading is process-wide (every profile in use is
 * checked and swapped together), but a tenant sees only the profiles its connections use and their
 * problems: another tenant's profile names and fixture paths are theirs. A refusal caused only by
 * another tenant's profile says so without naming it.
 */
import type { ProfileReloadOutcome } from '../domain/mapping-catalog';

/** What a tenant sees of a reload: `details` (which profile and connection each problem concerns) is never shown. */
export type TenantReloadOutcome = Omit<ProfileReloadOutcome, 'details'>;

export function reloadOutcomeFor(
  outcome: ProfileReloadOutcome,
  profiles: ReadonlySet<string>,
  connections?: ReadonlySet<string>,
): TenantReloadOutcome {
  const problems: string[] = [];
  let others = 0;
  for (const problem of outcome.details) {
    // A sampled record's problem is its connection's; a load problem its profile's; one naming
    // neither (Redis) concerns every tenant and names none.
    const own =
      problem.connection !== undefined && connections !== undefined
        ? connections.has(problem.connection)
        : problem.profile === undefined || profiles.has(problem.profile);
    if (own) problems.push(problem.message);
    else others += 1;
  }
  if (others > 0) {
    problems.push(
      `${others} problem(s) in mapping profiles of other tenants of this gateway (reloading is process-wide: their operator must fix them)`,
    );
  }
  const { details: _hidden, ...rest } = outcome;
  return {
    ...rest,
    profiles: outcome.profiles.filter((profile) => profiles.has(profile.name)),
    problems,
  };
}
