/**
 * Notices when credential files change (a mounted secret replaced, `continuum ehr-keys rotate`):
 * fs.watch on each file's directory (a file replaced by rename is a new inode a file watch would
 * miss), and a cheap stat comparison callers run before they use the files, for platforms and
 * volumes where fs.watch stays silent.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface WatchedPath {
  readonly path: string;
  /** A directory: every file in it counts. */
  readonly directory: boolean;
}

export interface FileWatch {
  /** Compares the files with what was last seen; when they differ, runs the change handler and resolves true. */
  check(): Promise<boolean>;
  close(): void;
}

async function fingerprint(paths: readonly WatchedPath[]): Promise<string> {
  const parts: string[] = [];
  for (const { path, directory } of paths) {
    const files = directory
      ? ((await readdir(path).catch(() => [])) as string[]).sort().map((name) => join(path, name))
      : [path];
    for (const file of files) {
      const info = await stat(file).catch(() => undefined);
      parts.push(info === undefined ? `${file}:missing` : `${file}:${info.ino}:${info.size}:${info.mtimeMs}`);
    }
  }
  return parts.join('|');
}

export async function watchFiles(
  paths: readonly WatchedPath[],
  onChange: () => Promise<void>,
  options: {
    /** Off: no fs.watch, only `check()`. */
    readonly watch?: boolean;
    readonly debounceMs?: number;
    readonly onError?: (error: unknown) => void;
  } = {},
): Promise<FileWatch> {
  let seen = await fingerprint(paths);
  let running: Promise<boolean> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];

  const check = (): Promise<boolean> => {
    // One comparison at a time: a burst of events must not run the handler twice for one change.
    running ??= (async () => {
      try {
        const now = await fingerprint(paths);
        if (now === seen) return false;
        seen = now;
        await onChange();
        return true;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const schedule = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      check().catch((error: unknown) => options.onError?.(error));
    }, options.debounceMs ?? 100);
    timer.unref();
  };

  for (const { path, directory } of options.watch === false ? [] : paths) {
    const dir = directory ? path : dirname(path);
    const name = directory ? undefined : basename(path);
    try {
      const watcher = watch(dir, { persistent: false }, (_event, changed) => {
        if (name === undefined || changed === null || changed === name) schedule();
      });
      watcher.on('error', (error) => options.onError?.(error));
      watchers.push(watcher);
    } catch (error) {
      // No watch possible here (a missing directory): the stat check before use still notices.
      options.onError?.(error);
    }
  }

  return {
    check,
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
