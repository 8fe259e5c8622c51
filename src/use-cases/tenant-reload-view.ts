/**
 * A reload outcome as one tenant may see it. Reloading is process-wide (every profile in use is
 * checked and swapped together), but a tenant sees only the profiles its connections use and their
 * problems: another tenant's profile names and fixture paths are theirs. A refusal caused only by
 * another tenant's profile says so without naming it.
 */
import type { ProfileReloadOutcome } from '../domain/mapping-catalog';

/** What a tenant sees of a reload: `concerns` is never shown. */
export type TenantReloadOutcome = Omit<ProfileReloadOutcome, 'concerns'>;

export function reloadOutcomeFor(
  outcome: ProfileReloadOutcome,
  profiles: ReadonlySet<string>,
): TenantReloadOutcome {
  const problems: string[] = [];
  let others = 0;
  outcome.problems.forEach((problem, index) => {
    const concern = outcome.concerns[index] ?? null;
    if (concern === null || profiles.has(concern)) problems.push(problem);
    else others += 1;
  });
  if (others > 0) {
    problems.push(
      `${others} problem(s) in mapping profiles of other tenants of this gateway (reloading is process-wide: their operator must fix them)`,
    );
  }
  const { concerns: _hidden, ...rest } = outcome;
  return {
    ...rest,
    profiles: outcome.profiles.filter((profile) => profiles.has(profile.name)),
    problems,
  };
}
