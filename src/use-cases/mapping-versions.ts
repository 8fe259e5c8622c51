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

/** The fewest hex digits taken as a hash prefix: what logs and GET /v1/status show. */
export const MIN_HASH_PREFIX = 12;

/** The candidates an ambiguous prefix answer lists, so the person can pick the one they meant. */
const AMBIGUOUS_SHOWN = 5;

/** A full hash, or a prefix of at least 12 hex digits that names exactly one stored version. */
async function fullHash(
  deps: VersionDeps,
  tenant: Pick<Tenant, 'connections'>,
  given: string,
): Promise<string> {
  const hash = given.toLowerCase();
  if (hash.length === 64) return hash;
  // Only the tenant's own versions count: another tenant's must not make a prefix ambiguous, nor be listed.
  const candidates = await deps.mappingVersions.resolve(hash, 50);
  const matches: string[] = [];
  for (const candidate of candidates) {
    const stored = await deps.mappingVersions.get(candidate);
    if (
      stored !== undefined &&
      (await tenantProfileHolding(deps, tenant, candidate, stored.name)) !== undefined
    )
      matches.push(candidate);
    if (matches.length > AMBIGUOUS_SHOWN) break;
  }
  const [only] = matches;
  if (only === undefined) {
    throw new ContinuumError('NOT_FOUND', { detail: `no mapping profile version ${given} is stored` });
  }
  if (matches.length > 1) {
    const shown = matches.slice(0, AMBIGUOUS_SHOWN).join(', ');
    throw new ContinuumError('VALIDATION', {
      detail: `${given} is the start of more than one stored profile version (${shown}${matches.length > AMBIGUOUS_SHOWN ? ', ...' : ''}); give more digits`,
    });
  }
  return only;
}

/**
 * A stored version of a profile the tenant's connections use. Any other tenant's version is "not
 * found", word for word like a hash never stored: its files (fixtures saved from live records hold
 * patient data) and even its existence are that tenant's. A version belongs to a profile when it
 * is in the profile's history, not by the name it was first stored under: two profiles with the
 * same files (a fresh copy) share one version, and each tenant sees it under its own profile's name.
 */
export async function mappingVersion(
  deps: VersionDeps,
  tenant: Pick<Tenant, 'connections'>,
  hash: string,
): Promise<StoredMappingVersion> {
  const wanted = await fullHash(deps, tenant, hash);
  const found = await deps.mappingVersions.get(wanted);
  const owner =
    found === undefined ? undefined : await tenantProfileHolding(deps, tenant, wanted, found.name);
  if (found === undefined || owner === undefined) {
    throw new ContinuumError('NOT_FOUND', { detail: `no mapping profile version ${hash} is stored` });
  }
  return { ...found, name: owner };
}

/** The tenant's profile whose history holds `hash`: the one it was stored under first, if the tenant's. */
async function tenantProfileHolding(
  deps: VersionDeps,
  tenant: Pick<Tenant, 'connections'>,
  hash: string,
  storedAs: string,
): Promise<string | undefined> {
  const names = [...tenantProfileNames(deps, tenant)].sort((a, b) =>
    a === storedAs ? -1 : b === storedAs ? 1 : 0,
  );
  for (const name of names) {
    const history = await deps.mappingVersions.history(name);
    if (history.some((entry) => entry.hash === hash)) return name;
  }
  return undefined;
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
