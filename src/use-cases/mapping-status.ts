/**
 * The mapping part of GET /v1/status: the running profile versions of the tenant's connections,
 * the last reload attempt, and the read fields that came out empty on every sampled record.
 */
import type {
  EmptyFieldFinding,
  ProfileReloadOutcome,
  ProfileVersionInfo,
  ReloadProblem,
} from '../domain/mapping-catalog';
import type { UseCaseDeps } from './use-case-deps';

export interface MappingStatus {
  readonly profiles: readonly ProfileVersionInfo[];
  readonly lastReload: Omit<ProfileReloadOutcome, 'details'> | null;
  readonly emptyFields: readonly EmptyFieldFinding[];
}

export function mappingStatus(
  deps: Pick<UseCaseDeps, 'mappingCatalog' | 'connections'>,
  /** The connections the caller may see; all when absent. */
  only?: readonly string[],
): MappingStatus {
  const catalog = deps.mappingCatalog;
  const visible = [...deps.connections.values()].filter(
    (connection) => only === undefined || only.includes(connection.name),
  );
  const names = new Set(visible.map((connection) => connection.mapping.name));
  const connections = new Set(visible.map((connection) => connection.name));
  // Another tenant's problems name its files, connections and records: each caller sees its own,
  // and those of the gateway itself (they concern every tenant and name none).
  const own = (problem: ReloadProblem): boolean =>
    problem.connection !== undefined
      ? connections.has(problem.connection)
      : problem.profile === undefined || names.has(problem.profile);
  const last = catalog.lastReload();
  return {
    profiles: catalog.running().filter((profile) => names.has(profile.name)),
    lastReload:
      last === undefined
        ? null
        : {
            ok: last.ok,
            trigger: last.trigger,
            at: last.at,
            profiles: last.profiles.filter((profile) => names.has(profile.name)),
            problems: last.details.filter(own).map((problem) => problem.message),
          },
    emptyFields: catalog
      .emptyFields()
      .filter((finding) => visible.some((connection) => connection.name === finding.connection)),
  };
}
