/**
 * A copy of the shipped default profile in a temporary folder, for tests that break one thing in it
 * and see what the loader says.
 */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMappingProfile, MappingProfileError } from '../../src/mapping';
import { projectRoot } from '../../src/project-root';

/** `root` is the temporary folder (remove it afterwards); `dir` the profile `name` inside it. */
export async function copyDefaultProfile(
  prefix: string,
  name: string,
): Promise<{ root: string; dir: string }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const dir = join(root, name);
  await cp(join(projectRoot(), 'mappings', 'default'), dir, { recursive: true });
  return { root, dir };
}

/** Replaces `from` with `to` in one file of the profile; the test fails if `from` is not there. */
export async function editProfileFile(
  dir: string,
  file: string,
  from: string | RegExp,
  to: string,
): Promise<void> {
  const path = join(dir, file);
  const text = await readFile(path, 'utf8');
  const next = text.replace(from, to);
  expect(next).not.toBe(text);
  await writeFile(path, next);
}

/** The error loading the profile at `dir` throws; the test fails if it loads. */
export async function loadError(dir: string): Promise<MappingProfileError> {
  const error = await loadMappingProfile(dir, { defaultRegion: 'US' }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(MappingProfileError);
  return error as MappingProfileError;
}
