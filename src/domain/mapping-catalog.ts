/**
 * The running mapping profiles, and every version a queued write may still need. A write records
 * the name and hash of the profile it was accepted under; the worker applies it with that version,
 * even after a reload, so a change to a profile never rewrites what an agent already took.
 */
import type { MappingProfile } from './mapping-profile';

/** What started a reload. */
export type ProfileReloadTrigger = 'start' | 'signal' | 'file-change' | 'api';

/** One profile's state after a reload attempt. */
export interface ProfileVersionInfo {
  readonly name: string;
  readonly hash: string;
  /** When this version became the running one (ISO). */
  readonly since: string;
}

/** One reload problem and what it concerns, so that each tenant is shown only its own. */
export interface ReloadProblem {
  /** PHI-free, with file and field; may name a connection and a record reference. */
  readonly message: string;
  /** The profile it concerns; none for a problem of the gateway itself (the store unreachable). */
  readonly profile?: string;
  /** The connection it concerns (a sampled record, a connection's check); none for a profile's files. */
  readonly connection?: string;
}

export interface ProfileReloadOutcome {
  /** false: nothing changed; the running versions stay, `problems` says why. */
  readonly ok: boolean;
  readonly trigger: ProfileReloadTrigger;
  readonly at: string;
  /** The running versions after the attempt, and whether this attempt changed each one. */
  readonly profiles: readonly (ProfileVersionInfo & { readonly changed: boolean })[];
  /** Load, fixture and sample problems, one a line, with file and field; PHI-free. */
  readonly problems: readonly string[];
  /** The same problems, each with the profile and connection it concerns. */
  readonly details: readonly ReloadProblem[];
}

/** A read field that came out empty on every sampled record of a connection. */
export interface EmptyFieldFinding {
  readonly connection: string;
  readonly profile: string;
  readonly hash: string;
  /** The model field, e.g. `mrn`, `name.family`, `appointment.location`. */
  readonly field: string;
  /** The profile file and rule that produced it, e.g. `patient.yaml` `read.mrn`. */
  readonly file: string;
  readonly rule: string;
  /**
   * How many sampled records the field applies to (all of them gave no value): every sampled record
   * of its type, or for a field only some records carry (a cancellation reason) those records.
   */
  readonly sampled: number;
}

export interface MappingCatalog {
  /** The running version of a profile: what new writes are accepted under. */
  current(name: string): MappingProfile | undefined;
  /**
   * A profile's version by its name and hash: from memory, else compiled from the content-addressed
   * store in Redis; undefined when no process ever stored it under that name. Two profiles with the
   * same files share a hash, so the name says which one a write was accepted under.
   */
  version(name: string, hash: string): Promise<MappingProfile | undefined>;
  /** The names of the profiles the connections use. */
  names(): readonly string[];
  /** The running versions, for status. */
  running(): readonly ProfileVersionInfo[];
  /**
   * Validates (lint, fixtures, samples of real records) and swaps in the profiles from disk; on any
   * problem the running versions stay and the outcome says why. Reloads never overlap.
   */
  reload(trigger: ProfileReloadTrigger): Promise<ProfileReloadOutcome>;
  /** The last reload attempt, if any since start. */
  lastReload(): ProfileReloadOutcome | undefined;
  /** Read fields empty on every sampled record, per connection, from the last start or reload. */
  emptyFields(): readonly EmptyFieldFinding[];
}
