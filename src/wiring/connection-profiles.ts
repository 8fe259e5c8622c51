/**
 * The mapping profile of every connection, loaded once each and checked against the connections
 * that use it before anything is built, so that every problem is reported at once: by `start`, and
 * by `config check` before a deployment.
 */
import { join } from 'node:path';
import type { Config } from '../config/load-config';
import type { MappingProfile } from '../domain/mapping-profile';
import { loadMappingProfile } from '../mapping';
import { assertMrnSystems, mrnSystemProblem } from './mrn-system-check';

export async function loadConnectionProfiles(config: Config): Promise<ReadonlyMap<string, MappingProfile>> {
  const profiles = new Map<string, MappingProfile>();
  for (const connection of Object.values(config.connections)) {
    if (profiles.has(connection.mappingProfile)) continue;
    profiles.set(
      connection.mappingProfile,
      await loadMappingProfile(join(config.mappingsDir, connection.mappingProfile), {
        defaultRegion: config.phone.defaultRegion,
      }),
    );
  }
  assertMrnSystems(
    Object.values(config.connections).map((connection) => {
      const profile = profiles.get(connection.mappingProfile);
      return profile && mrnSystemProblem(connection, profile, config.mappingsDir);
    }),
  );
  return profiles;
}
