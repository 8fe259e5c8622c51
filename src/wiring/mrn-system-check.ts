/**
 * A real EHR must never receive the sandbox's MRN system: a registration would file the patient
 * under an identifier system no one else at that EHR uses, invisible to every MRN search. The
 * default profile is the sandbox's, so a connection to anything but a sandbox needs a profile that
 * names its EHR's own MRN system; start-up stops otherwise.
 */
import { join } from 'node:path';
import { SYSTEMS } from '../../adapters/ehr/sandbox/seed-codes';
import type { ResolvedConnection } from '../config/load-config';
import type { MappingProfile } from '../domain/mapping-profile';
import { MappingProfileError, type MappingProblem } from '../mapping';

export const SANDBOX_MRN_SYSTEM = SYSTEMS.mrn;

/** What is wrong with serving `connection` with `profile`, if anything. */
export function mrnSystemProblem(
  connection: ResolvedConnection,
  profile: Pick<MappingProfile, 'name' | 'mrnSystems'>,
  mappingsDir: string,
): MappingProblem | undefined {
  if (connection.sandbox || connection.sandboxEhr) return undefined;
  const file = join(mappingsDir, profile.name, 'profile.yaml');
  const own = profile.mrnSystems.filter((system) => system !== SANDBOX_MRN_SYSTEM);
  if (own.length === profile.mrnSystems.length && own.length > 0) return undefined;
  return {
    file,
    field: 'identifiers.mrn.systems',
    message:
      `connections.${connection.name} (${connection.baseUrl ?? ''}) uses profile "${profile.name}", ` +
      `which names the built-in sandbox's MRN system ${SANDBOX_MRN_SYSTEM}: a real EHR's profile must ` +
      `name that EHR's own MRN systems only (copy mappings/default, edit identifiers.mrn.systems, set ` +
      `connections.${connection.name}.mappingProfile), or, if this EHR is a Continuum sandbox, set ` +
      `connections.${connection.name}.sandboxEhr: true`,
  };
}

export function assertMrnSystems(problems: readonly (MappingProblem | undefined)[]): void {
  const found = problems.filter((problem) => problem !== undefined);
  if (found.length > 0) throw new MappingProfileError(found);
}
