/**
 * The mapping part of GET /v1/status: the running profile versions of the tenant's connections,
 * the last reload attempt, and the read fields that came out empty on every sampled record.
 */
import type { EmptyFieldFinding, ProfileVersionInfo } from '../domain/mapping-catalog';
import { reloadOutcomeFor, type TenantReloadOutcome } from './tenant-reload-view';
import type { UseCaseDeps } from './use-case-deps';

export interface MappingStatus {
  readonly profiles: readonly ProfileVersionInfo[];
  readonly lastReload: TenantReloadOutcome | null;
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
  const last = catalog.lastReload();
  return {
    profiles: catalog.running().filter((profile) => names.has(profile.name)),
    lastReload: last === undefined ? null : reloadOutcomeFor(last, names, connections),
    emptyFields: catalog
      .emptyFields()
      .filter((finding) => visible.some((connection) => connection.name === finding.connection)),
  };
}
