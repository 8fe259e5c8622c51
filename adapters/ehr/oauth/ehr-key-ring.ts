/**
 * The EHR signing keys as a running process uses them: loaded from the key directory, re-read
 * when its files change (fs.watch, or the stat check before a signature) or on `reload()`
 * (SIGHUP), so a `continuum ehr-keys rotate` reaches every process without a restart.
 */
import { mkdir } from 'node:fs/promises';
import { createEhrKey, ehrKeyStates, readEhrKeys, type EhrKeyState } from './ehr-key-store';
import { watchFiles, type FileWatch } from './file-watch';
import { importEhrSigningKey, type EhrSigningAlgorithm, type EhrSigningKey } from './private-key';

export interface EhrKeyRing {
  /** The active key of `alg`; re-reads the directory first if its files changed. */
  signer(alg: EhrSigningAlgorithm): Promise<EhrSigningKey | undefined>;
  /** Public halves of every active and published key (never a retired one, never a private part). */
  publicJwks(): readonly object[];
  /** Keys are created on demand only where asked: a connection that signs with the key ring needs one. */
  ensureKey(alg: EhrSigningAlgorithm): Promise<EhrSigningKey>;
  reload(): Promise<void>;
  /** Called after the keys on disk changed and were re-read. */
  onChange(listener: () => void): void;
  close(): void;
}

interface LoadedKey {
  readonly key: EhrSigningKey;
  readonly createdAt: string;
  readonly supersededAt: string | undefined;
  readonly publishedUntil: string | undefined;
}

export async function openEhrKeyRing(
  dir: string,
  options: {
    /** Off: changes are noticed by the stat check before each use only (a process that only publishes). */
    readonly watch?: boolean;
    readonly onError?: (error: unknown) => void;
    readonly now?: () => number;
  } = {},
): Promise<EhrKeyRing> {
  const now = options.now ?? Date.now;
  let keys: LoadedKey[] = [];
  const listeners: (() => void)[] = [];

  const load = async (): Promise<void> => {
    const records = await readEhrKeys(dir);
    const loaded: LoadedKey[] = [];
    for (const record of records) {
      const key = await importEhrSigningKey(JSON.stringify(record.jwk), record.alg, `EHR key ${record.kid}`);
      loaded.push({
        key: { ...key, kid: record.kid },
        createdAt: record.createdAt,
        supersededAt: record.supersededAt,
        publishedUntil: record.publishedUntil,
      });
    }
    keys = loaded;
  };

  const states = (): { loaded: LoadedKey; state: EhrKeyState }[] => {
    const byKid = new Map(keys.map((k) => [k.key.kid, k]));
    return ehrKeyStates(
      keys.map((k) => ({
        kid: k.key.kid,
        alg: k.key.alg,
        createdAt: k.createdAt,
        ...(k.supersededAt !== undefined ? { supersededAt: k.supersededAt } : {}),
        ...(k.publishedUntil !== undefined ? { publishedUntil: k.publishedUntil } : {}),
        jwk: {},
      })),
      now(),
    ).flatMap(({ record, state }) => {
      const loaded = byKid.get(record.kid);
      return loaded === undefined ? [] : [{ loaded, state }];
    });
  };

  const changed = async (): Promise<void> => {
    await load();
    for (const listener of listeners) listener();
  };

  // Made now, so it can be watched before `continuum ehr-keys create` puts a key in it.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await load();
  let watcher: FileWatch | undefined;
  let nextPublishCheck = 0;
  try {
    watcher = await watchFiles([{ path: dir, directory: true }], changed, {
      watch: options.watch ?? true,
      onError: options.onError,
    });
  } catch (error) {
    options.onError?.(error);
  }

  const active = (alg: EhrSigningAlgorithm): EhrSigningKey | undefined =>
    states().find((s) => s.state === 'active' && s.loaded.key.alg === alg)?.loaded.key;

  return {
    async signer(alg) {
      await watcher?.check();
      return active(alg);
    },
    publicJwks() {
      // Served from memory; a changed directory shows from the next request on (at most one check a second).
      if (watcher !== undefined && now() >= nextPublishCheck) {
        nextPublishCheck = now() + 1000;
        watcher.check().catch((error: unknown) => options.onError?.(error));
      }
      return states()
        .filter((s) => s.state !== 'retired')
        .map((s) => s.loaded.key.publicJwk);
    },
    async ensureKey(alg) {
      const existing = active(alg);
      if (existing !== undefined) return existing;
      await createEhrKey(dir, alg);
      await changed();
      const created = active(alg);
      if (created === undefined) throw new Error(`no ${alg} key in ${dir} after creating one`);
      return created;
    },
    async reload() {
      await changed();
    },
    onChange(listener) {
      listeners.push(listener);
    },
    close() {
      watcher?.close();
    },
  };
}
