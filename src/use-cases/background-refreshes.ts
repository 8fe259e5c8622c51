/**
 * EHR reads still running after their caller was answered from the continuity cache, one per
 * cache key and connection. A hung EHR would otherwise collect a new request for every read of a
 * busy patient; with this, later reads of the same key join the one already waiting.
 */
export interface BackgroundRefreshes {
  /** The refresh of `key` still running, if any. */
  running<T>(key: string): Promise<T> | undefined;
  /** Keeps `refresh` as the one of `key` until it settles (it must already have a rejection handler). */
  keep(key: string, refresh: Promise<unknown>): void;
}

export function createBackgroundRefreshes(): BackgroundRefreshes {
  const running = new Map<string, Promise<unknown>>();
  return {
    running: <T>(key: string) => running.get(key) as Promise<T> | undefined,
    keep: (key, refresh) => {
      if (running.get(key) === refresh) return;
      running.set(key, refresh);
      const done = (): void => {
        if (running.get(key) === refresh) running.delete(key);
      };
      refresh.then(done, done);
    },
  };
}
