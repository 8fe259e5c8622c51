/**
 * The mapping profile of every connection, loaded once each and checked against the connections
 * that use it before anything is built, so that every problem is reported at once. The same checks
 * run at start, at every reload and in `config check`: the profile compiles (lint included), its
 * fixtures pass, and no connection to a real EHR would write the sandbox's MRN system.
 */
import { join } from 'node:path';
import type { Config } from '../config/load-config';
import type { MappingProfile } from '../domain/mapping-profile';
import {
  compileMappingProfile,
  MappingProfileError,
  readProfileFiles,
  runProfileFixtures,
  type MappingProblem,
  type ProfileFiles,
} from '../mapping';
import { firstLineOf } from './first-line';
import { assertMrnSystems, mrnSystemProblem } from './mrn-system-check';

/** A profile as loaded from its folder, with the files it was compiled from (for the version store). */
export interface LoadedProfile {
  readonly profile: MappingProfile;
  readonly files: ProfileFiles;
}

/** A problem with the profile (and connection) it concerns: status shows each tenant only its own. */
export interface ScopedMappingProblem extends MappingProblem {
  readonly profile: string;
  readonly connection?: string;
}

export interface ProfileCheck {
  /** The profiles that compiled, by name (whether or not their fixtures passed). */
  readonly loaded: ReadonlyMap<string, LoadedProfile>;
  /** Everything wrong, every profile at once; empty when all of them may run. */
  readonly problems: readonly ScopedMappingProblem[];
}

/** The names of the profiles the configured connections use, each once. */
export function profileNamesInUse(config: Config): readonly string[] {
  return [...new Set(Object.values(config.connections).map((connection) => connection.mappingProfile))];
}

/** Loads every profile in use from disk and runs every check; never throws for a profile's fault. */
export async function checkConnectionProfiles(config: Config): Promise<ProfileCheck> {
  const loaded = new Map<string, LoadedProfile>();
  const problems: ScopedMappingProblem[] = [];
  for (const name of profileNamesInUse(config)) {
    const dir = join(config.mappingsDir, name);
    let files: ProfileFiles;
    try {
      files = await readProfileFiles(dir);
    } catch (error) {
      problems.push({
        profile: name,
        file: dir,
        field: '',
        message: `cannot read the profile folder: ${firstLineOf(error)}`,
      });
      continue;
    }
    let profile: MappingProfile;
    try {
      profile = await compileMappingProfile(dir, files, { defaultRegion: config.phone.defaultRegion });
    } catch (error) {
      if (!(error instanceof MappingProfileError)) throw error;
      problems.push(...error.problems.map((problem) => ({ ...problem, profile: name })));
      continue;
    }
    loaded.set(name, { profile, files });
    for (const result of await runProfileFixtures(dir, profile)) {
      if (result.passed) continue;
      problems.push({
        profile: name,
        file: join(dir, result.path),
        field: '',
        // Not the difference itself: a fixture saved from a live record holds a patient's data.
        message: `fixture fails (continuum mappings test --profile ${name} shows the difference)`,
      });
    }
  }
  for (const connection of Object.values(config.connections)) {
    const found = loaded.get(connection.mappingProfile);
    const problem = found && mrnSystemProblem(connection, found.profile, config.mappingsDir);
    if (problem !== undefined) {
      problems.push({ ...problem, profile: connection.mappingProfile, connection: connection.name });
    }
  }
  return { loaded, problems };
}

/** The profiles in use, every check passed; throws MappingProfileError listing every problem. */
export async function loadConnectionProfiles(config: Config): Promise<ReadonlyMap<string, LoadedProfile>> {
  const { loaded, problems } = await checkConnectionProfiles(config);
  assertMrnSystems(problems);
  return loaded;
}
