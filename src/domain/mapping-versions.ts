/**
 * Every mapping profile version a process ever ran, kept by the hash of its files so a write
 * accepted under one version can be applied with it by any process, after any reload or restart.
 */

/** One stored version: the profile's files as UTF-8 text, by their path inside the profile folder. */
export interface StoredMappingVersion {
  /** The profile that first stored these files. */
  readonly name: string;
  /**
   * Every profile stored with exactly these files (a copied profile has its original's hash until
   * it is changed): a write pinned to the hash applies as the profile it was accepted under, by name.
   */
  readonly names: readonly string[];
  readonly hash: string;
  /** When a process first stored it (ISO). */
  readonly storedAt: string;
  readonly files: Readonly<Record<string, string>>;
}

export interface MappingVersionStore {
  /**
   * Stores a version's files unless its hash is already there, notes the profile's name among those
   * stored with them, and the hash in the profile's history.
   */
  put(name: string, hash: string, files: ReadonlyMap<string, Buffer>): Promise<void>;
  get(hash: string): Promise<StoredMappingVersion | undefined>;
  /**
   * The stored hashes starting with `prefix` (hex), at most `limit` of them: logs and status show a
   * hash's first 12 digits, and a person types what they see.
   */
  resolve(prefix: string, limit: number): Promise<readonly string[]>;
  /** The profile's versions, the last one loaded first. */
  history(name: string): Promise<readonly { readonly hash: string; readonly at: string }[]>;
}
