/**
 * A copy of mappings/default whose phone writes carry a mark (an extension naming it), with its
 * write and registration fixtures' expectations brought up to date the way an engineer would save them: the profile
 * is valid, its fixtures pass, and every phone it writes says which version wrote it.
 */
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadMappingProfile } from '../../src/mapping';
import { projectRoot } from '../../src/project-root';

export const MARK_URL = 'http://test.continuum.example/profile-mark';

export async function writeMarkedProfile(dir: string, mark: string): Promise<void> {
  await cp(join(projectRoot(), 'mappings', 'default'), dir, { recursive: true, force: true });
  const file = join(dir, 'patient.yaml');
  const yaml = await readFile(file, 'utf8');
  const original = `    template: |
      $existing
        ? $merge([$existing, { "value": $value }])
        : { "system": "phone", "value": $value }`;
  if (!yaml.includes(original)) throw new Error('mappings/default write.phones template changed');
  const stamp = `"extension": [{ "url": "${MARK_URL}", "valueString": "${mark}" }]`;
  await writeFile(
    file,
    yaml.replace(
      original,
      `    template: |
      $existing
        ? $merge([$existing, { "value": $value, ${stamp} }])
        : { "system": "phone", "value": $value, ${stamp} }`,
    ),
  );
  const profile = await loadMappingProfile(dir);
  const writes = join(dir, 'fixtures', 'write');
  for (const name of await readdir(writes)) {
    const path = join(writes, name);
    const fixture = JSON.parse(await readFile(path, 'utf8')) as { input: any; changes: any; expected: any };
    fixture.expected = await profile.applyPatientChanges(fixture.input, fixture.changes);
    await writeFile(path, `${JSON.stringify(fixture, null, 2)}\n`);
  }
  // Registrations write their phones by the same template: their fixtures carry the mark too.
  const creates = join(dir, 'fixtures', 'create');
  for (const name of await readdir(creates)) {
    const path = join(creates, name);
    const fixture = JSON.parse(await readFile(path, 'utf8')) as { patient: any; expected: any };
    fixture.expected = await profile.buildPatient(fixture.patient);
    await writeFile(path, `${JSON.stringify(fixture, null, 2)}\n`);
  }
}

/** The mark on the phone entry holding `value`, if any. */
export function phoneMark(patient: any, value: string): string | undefined {
  const entry = (patient.telecom ?? []).find((t: any) => t.system === 'phone' && t.value === value);
  return entry?.extension?.find((e: any) => e.url === MARK_URL)?.valueString;
}
