/**
 * Reloads the mapping profiles when a file in a profile folder in use changes. Editors save in
 * bursts (a temporary file, a rename, the write), so changes within ~300 ms make one reload; the
 * reload checks everything first and keeps the running versions when the new files fail.
 */
import { watch, type FSWatcher } from 'node:fs';
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
  const watchers: FSWatcher[] = [];
  for (const name of profileNamesInUse(config)) {
    const dir = join(config.mappingsDir, name);
    try {
      const watcher = watch(dir, { recursive: true, persistent: false }, changed);
      watcher.on('error', (error) => {
        logger.warn({ err: error, mappingProfile: name }, 'mapping folder no longer watched');
      });
      watchers.push(watcher);
    } catch (error) {
      // The folder was loaded a moment ago; a platform without recursive watching still reloads on SIGHUP.
      logger.warn({ err: error, mappingProfile: name }, 'mapping folder not watched; reload with SIGHUP');
    }
  }
  closeables.add('intake', 'mapping folder watch', async () => {
    closed = true;
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
    await reloading;
  });
}
