/**
 * What changed between two mapping profile versions, and the files of one: the stored versions
 * are the record of what each write was applied with, so a reviewer can see the change that a
 * reload brought, file by file, as a unified diff.
 */
import { createTwoFilesPatch } from 'diff';
import type { Tenant } from '../domain/access';
import { ContinuumError } from '../domain/errors';
import type { StoredMappingVersion } from '../domain/mapping-versions';
import { tenantProfileNames } from './reload-mappings';
import type { UseCaseDeps } from './use-case-deps';

export interface MappingFileDiff {
  readonly path: string;
  readonly status: 'added' | 'removed' | 'changed';
  /** Unified diff, `a/<path>` to `b/<path>`. */
  readonly diff: string;
}

export interface MappingVersionDiff {
  readonly from: { readonly name: string; readonly hash: string; readonly storedAt: string };
  readonly to: { readonly name: string; readonly hash: string; readonly storedAt: string };
  /** Only the files that differ, by path. */
  readonly files: readonly MappingFileDiff[];
}

type VersionDeps = Pick<UseCaseDeps, 'mappingVersions' | 'connections'>;

/**
 * A stored version of a profile the tenant's connections use. Any other tenant's version is "not
 * found", word for word like a hash never stored: its files (fixtures saved from live records hold
 * patient data) and even its existence are that tenant's.
 */
export async function mappingVersion(
  deps: VersionDeps,
  tenant: Pick<Tenant, 'connections'>,
  hash: string,
): Promise<StoredMappingVersion> {
  const found = await deps.mappingVersions.get(hash.toLowerCase());
  if (found === undefined || !tenantProfileNames(deps, tenant).has(found.name)) {
    throw new ContinuumError('NOT_FOUND', { detail: `no mapping profile version ${hash} is stored` });
  }
  return found;
}

export async function diffMappingVersions(
  deps: VersionDeps,
  tenant: Pick<Tenant, 'connections'>,
  fromHash: string,
  toHash: string,
): Promise<MappingVersionDiff> {
  const [from, to] = await Promise.all([
    mappingVersion(deps, tenant, fromHash),
    mappingVersion(deps, tenant, toHash),
  ]);
  const paths = [...new Set([...Object.keys(from.files), ...Object.keys(to.files)])].sort();
  const files: MappingFileDiff[] = [];
  for (const path of paths) {
    const before = from.files[path];
    const after = to.files[path];
    if (before === after) continue;
    files.push({
      path,
      status: before === undefined ? 'added' : after === undefined ? 'removed' : 'changed',
      diff: createTwoFilesPatch(
        before === undefined ? '/dev/null' : `a/${path}`,
        after === undefined ? '/dev/null' : `b/${path}`,
        before ?? '',
        after ?? '',
        from.hash.slice(0, 12),
        to.hash.slice(0, 12),
      ),
    });
  }
  const head = (v: StoredMappingVersion) => ({ name: v.name, hash: v.hash, storedAt: v.storedAt });
  return { from: head(from), to: head(to), files };
}
