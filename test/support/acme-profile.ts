/**
 * A mappings folder for workbench tests: the default profile, and `acme`, a copy whose EHR keeps
 * MRNs under its own system (http://acme.example/mrn) and only there: its MRN rule drops the
 * "any identifier typed MR" fallback (other record numbers there are typed MR too). On a sandbox patient (MRN in the sandbox's system) acme's MRN
 * comes out empty.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';

export const ACME_MRN_SYSTEM = 'http://acme.example/mrn';
export const SANDBOX_MRN_SYSTEM = 'http://sandbox.continuum.example/mrn';
export const ACME_MRN_RULE =
  "identifier.where(system in %mrnSystems and (use.exists().not() or use != 'old')).value.first()";

/** A new temporary folder holding `default` and `acme`; the caller removes it. */
export function acmeMappingsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'continuum-mappings-'));
  cpSync(join(projectRoot(), 'mappings', 'default'), join(dir, 'default'), { recursive: true });
  cpSync(join(projectRoot(), 'mappings', 'default'), join(dir, 'acme'), { recursive: true });
  const profile = join(dir, 'acme', 'profile.yaml');
  writeFileSync(profile, readFileSync(profile, 'utf8').replace(SANDBOX_MRN_SYSTEM, ACME_MRN_SYSTEM));
  const patient = join(dir, 'acme', 'patient.yaml');
  const text = readFileSync(patient, 'utf8');
  const start = text.indexOf('  mrn: >-');
  const end = text.indexOf('  name:', start);
  writeFileSync(patient, `${text.slice(0, start)}  mrn: ${ACME_MRN_RULE}\n${text.slice(end)}`);
  // Its fixtures are acme's records: MRNs in acme's system, and none found by type alone.
  rmSync(join(dir, 'acme', 'fixtures', 'read', 'mrn-by-type-work-address.json'));
  for (const path of fixtureFiles(join(dir, 'acme', 'fixtures'))) {
    writeFileSync(path, readFileSync(path, 'utf8').replaceAll(SANDBOX_MRN_SYSTEM, ACME_MRN_SYSTEM));
  }
  return dir;
}

function fixtureFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => join(entry.parentPath, entry.name));
}
