/**
 * What an integration engineer does to make a profile for an EHR that keeps MRNs in its own system:
 * name the system in profile.yaml and bring the fixtures' records along (they describe the EHR's
 * records, so their MRNs are in its system too), or the profile's own fixtures refuse it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SANDBOX_MRN_SYSTEM = 'http://sandbox.continuum.example/mrn';

export function retargetMrnSystem(profileDir: string, mrnSystem: string): void {
  const profileFile = join(profileDir, 'profile.yaml');
  const text = readFileSync(profileFile, 'utf8');
  if (!text.includes(SANDBOX_MRN_SYSTEM)) throw new Error('the profile does not name the sandbox MRN system');
  writeFileSync(profileFile, text.replace(SANDBOX_MRN_SYSTEM, mrnSystem));
  const fixtures = readdirSync(join(profileDir, 'fixtures'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => join(entry.parentPath, entry.name));
  for (const path of fixtures) {
    writeFileSync(path, readFileSync(path, 'utf8').replaceAll(SANDBOX_MRN_SYSTEM, mrnSystem));
  }
}

/** A gateway configuration whose sandbox connection runs `profile` from the mappings folder `mappingsDir`. */
export function writeProfileConfig(workdir: string, mappingsDir: string, profile: string): void {
  writeFileSync(
    join(workdir, 'continuum.config.yaml'),
    [
      'sandbox: { enabled: true }',
      `mappings: { dir: ${JSON.stringify(mappingsDir)} }`,
      'connections:',
      '  sandbox:',
      `    mappingProfile: ${profile}`,
      '',
    ].join('\n'),
  );
}
