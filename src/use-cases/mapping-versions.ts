/**
 * What changed between two mapping profile versions, and the files of one: the stored versions
 * are the record of what each write was applied with, so a reviewer can see the change that a
 * reload brought, file by file, as a unified diff.
 */
import { createTwoFilesPatch } from 'diff';
import { ContinuumError } from '../domain/errors';
import type { StoredMappingVersion } from '../domain/mapping-versions';
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

/** The fewest hex digits taken as a hash prefix: what logs and GET /v1/status show. */
export const MIN_HASH_PREFIX = 12;

/** The candidates an ambiguous prefix answer lists, so the person can pick the one they meant. */
const AMBIGUOUS_SHOWN = 5;

/** A full hash, or a prefix of at least 12 hex digits that names exactly one stored version. */
async function fullHash(deps: Pick<UseCaseDeps, 'mappingVersions'>, given: string): Promise<string> {
  const hash = given.toLowerCase();
  if (hash.length === 64) return hash;
  const matches = await deps.mappingVersions.resolve(hash, AMBIGUOUS_SHOWN + 1);
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

export async function mappingVersion(
  deps: Pick<UseCaseDeps, 'mappingVersions'>,
  hash: string,
): Promise<StoredMappingVersion> {
  const found = await deps.mappingVersions.get(await fullHash(deps, hash));
  if (found === undefined) {
    throw new ContinuumError('NOT_FOUND', { detail: `no mapping profile version ${hash} is stored` });
  }
  return found;
}

export async function diffMappingVersions(
  deps: Pick<UseCaseDeps, 'mappingVersions'>,
  fromHash: string,
  toHash: string,
): Promise<MappingVersionDiff> {
  const [from, to] = await Promise.all([mappingVersion(deps, fromHash), mappingVersion(deps, toHash)]);
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
