/**
 * A mappings folder for a test's stand-in EHR: the shipped profiles, plus a copy of the default
 * profile that names the EHR's own MRN system, which is what an integration engineer makes before
 * pointing a connection at a real EHR (the default profile names the sandbox's system, refused
 * there at start-up).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';
import { retargetMrnSystem } from './profile-copy';

export interface EhrProfile {
  /** For `mappings.dir`. */
  readonly dir: string;
  /** For `connections.<n>.mappingProfile`. */
  readonly name: string;
  remove(): void;
}

export function ehrProfile(name = 'ehr', mrnSystem = 'urn:oid:2.16.840.1.113883.3.72.5.9.1'): EhrProfile {
  const dir = mkdtempSync(join(tmpdir(), 'continuum-mappings-'));
  cpSync(join(projectRoot(), 'mappings'), dir, { recursive: true });
  cpSync(join(dir, 'default'), join(dir, name), { recursive: true });
  retargetMrnSystem(join(dir, name), mrnSystem);
  return { dir, name, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
