/** Mapping profile versions, their diffs and reloads: queries and answers, for the routes and the OpenAPI document. */
import { z } from 'zod';
import type { ProfileReloadOutcome } from '../../domain/mapping-catalog';
import type { StoredMappingVersion } from '../../domain/mapping-versions';
import type { MappingVersionDiff } from '../../use-cases/mapping-versions';
import type { Conforms } from './conforms';
import type { profileReloadOutcomeSchema } from './status.response';

// A full hash or its first 12 digits or more (logs and GET /v1/status show 12), in any case.
const HASH = /^[0-9a-fA-F]{12,64}$/;
const hash = () => z.string().regex(HASH, 'must be a profile hash (64 hex digits, or its first 12 or more)');

export const mappingHashPath = z.object({
  hash: hash().describe(
    "A profile version's hash, as receipts and GET /v1/status show it, or a prefix of 12 digits or more that names one version",
  ),
});

export const mappingDiffQuery = z.strictObject({
  from: hash().describe('The older version'),
  to: hash().describe('The newer version'),
});

export const mappingVersionSchema = z
  .object({
    name: z.string().describe('The profile that first stored these files'),
    names: z
      .array(z.string())
      .describe(
        "Every profile stored with exactly these files (a copy not yet changed has its original's hash); a write pinned to the hash applies as the profile it was accepted under",
      ),
    hash: z.string(),
    storedAt: z.string().describe('When a process first loaded and stored it'),
    files: z.record(z.string(), z.string()).describe("The profile folder's files by path, fixtures included"),
  })
  .describe('A stored mapping profile version');

const versionHead = z.object({ name: z.string(), hash: z.string(), storedAt: z.string() });

export const mappingDiffSchema = z
  .object({
    from: versionHead,
    to: versionHead,
    files: z
      .array(
        z.object({
          path: z.string(),
          status: z.enum(['added', 'removed', 'changed']),
          diff: z.string().describe('Unified diff'),
        }),
      )
      .describe('The files that differ, by path'),
  })
  .describe('What changed between two profile versions');

export const mappingVersionConforms: Conforms<StoredMappingVersion, typeof mappingVersionSchema> = true;
export const mappingDiffConforms: Conforms<MappingVersionDiff, typeof mappingDiffSchema> = true;
export const reloadOutcomeConforms: Conforms<ProfileReloadOutcome, typeof profileReloadOutcomeSchema> = true;
