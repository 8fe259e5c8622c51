/**
 * Reloads the mapping profiles when a file in a profile folder in use changes. Editors save in
 * bursts (a temporary file, a rename, the write), so changes within ~300 ms make one reload; the
 * reload checks everything first and keeps the running versions when the new files fail.
 *
 * Each folder of a profile (its root, fixtures/, fixtures/<kind>/) is watched on its own rather
 * than with `recursive: true`: Node 20's recursive watch on Linux watches files, and loses a file
 * that an editor saves by writing a temporary file and renaming it over the old one (vim, most
 * IDEs, `sed -i`): later edits of that file went unseen. A folder watch sees every entry change.
 */
import { readdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load-config';
import type { MappingCatalog } from '../domain/mapping-catalog';
import type { Logger } from '../domain/ports';
import type { Closeables } from './closeables';
import { profileNamesInUse } from './connection-profiles';

export const RELOAD_DEBOUNCE_MS = 300;

export function watchMappingFolders(
  config: Config,
  catalog: Pick<MappingCatalog, 'reload'>,
  logger: Logger,
  closeables: Closeables,
): void {
  if (!config.mappings.watch) return;
  let timer: NodeJS.Timeout | undefined;
  let reloading: Promise<unknown> = Promise.resolve();
  let closed = false;
  const changed = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      reloading = catalog.reload('file-change').catch((error: unknown) => {
        logger.error({ err: error }, 'mapping profiles not reloaded after a file change');
      });
    }, RELOAD_DEBOUNCE_MS);
  };
  /** Watched folders by path; re-listed on every change so a new fixtures folder is watched too. */
  const watchers = new Map<string, FSWatcher>();
  const watchFolder = (dir: string, name: string): void => {
    if (closed || watchers.has(dir)) return;
    try {
      const watcher = watch(dir, { persistent: false }, () => {
        syncFolders(name, dir);
        changed();
      });
      watcher.on('error', (error) => {
        watchers.delete(dir);
        watcher.close();
        logger.warn({ err: error, mappingProfile: name }, 'mapping folder no longer watched');
      });
      watchers.set(dir, watcher);
    } catch (error) {
      // The folder was loaded a moment ago; a platform without folder watching still reloads on SIGHUP.
      logger.warn({ err: error, mappingProfile: name }, 'mapping folder not watched; reload with SIGHUP');
    }
  };
  /** Watches `dir` and every folder below it not watched yet; forgets the ones gone. */
  const syncFolders = (name: string, dir: string): void => {
    for (const [path, watcher] of watchers) {
      if (path.startsWith(`${dir}/`) && !folderExists(path)) {
        watcher.close();
        watchers.delete(path);
      }
    }
    watchFolder(dir, name);
    for (const sub of subfolders(dir)) syncFolders(name, sub);
  };
  for (const name of profileNamesInUse(config)) syncFolders(name, join(config.mappingsDir, name));
  closeables.add('intake', 'mapping folder watch', async () => {
    closed = true;
    clearTimeout(timer);
    for (const watcher of watchers.values()) watcher.close();
    watchers.clear();
    await reloading;
  });
}

function subfolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(dir, entry.name));
  } catch {
    return [];
  }
}

function folderExists(dir: string): boolean {
  try {
    readdirSync(dir);
    return true;
  } catch {
    return false;
  }
}
