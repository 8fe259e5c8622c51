import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** A profile folder's files (relative path with `/` -> bytes), read once so hash and parse see the same bytes. */
export type ProfileFiles = ReadonlyMap<string, Buffer>;

/** Every regular file under `dir`, fixtures included; hidden files (editor and OS litter) are left out. */
export async function readProfileFiles(dir: string): Promise<ProfileFiles> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .filter((path) => !path.split('/').some((part) => part.startsWith('.')))
    .sort();
  const contents = await Promise.all(files.map((path) => readFile(join(dir, path))));
  return new Map(files.map((path, index) => [path, contents[index] ?? Buffer.alloc(0)]));
}

/**
 * sha256 over the files in name order. Each name and content is length-prefixed so that moving bytes
 * from one file to the next, or renaming a file, also changes the hash.
 */
export function hashProfileFiles(files: ProfileFiles): string {
  const hash = createHash('sha256');
  for (const path of [...files.keys()].sort()) {
    const name = Buffer.from(path, 'utf8');
    const content = files.get(path) ?? Buffer.alloc(0);
    hash.update(`${name.length}:`).update(name).update(`${content.length}:`).update(content);
  }
  return hash.digest('hex');
}
