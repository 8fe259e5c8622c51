/**
 * The running mapping profiles of this process and every version a queued write may still need.
 * Profiles are loaded and checked from disk (connection-profiles.ts), stored content-addressed in
 * Redis before they run, and swapped only when every check passed; a write accepted under a version
 * finds it here by hash, from memory or compiled again from the store, after any reload or restart.
 * Each process reloads itself (a signal, a file change, or the API): a deployment of several
 * processes reloads each one.
 */
import { join } from 'node:path';
import type { Config } from '../config/load-config';
import type {
  EmptyFieldFinding,
  MappingCatalog,
  ProfileReloadOutcome,
  ProfileReloadTrigger,
  ProfileVersionInfo,
  ReloadProblem,
} from '../domain/mapping-catalog';
import type { MappingProfile } from '../domain/mapping-profile';
import type { MappingVersionStore } from '../domain/mapping-versions';
import type { Logger } from '../domain/ports';
import { compileMappingProfile, formatProblem, MappingProfileError } from '../mapping';
import { checkConnectionProfiles, type LoadedProfile } from './connection-profiles';
import { firstLineOf } from './first-line';

/** What the samples of real records found for a set of candidate profiles. */
export interface SampleReport {
  readonly findings: readonly EmptyFieldFinding[];
  /** Records a read mapping fails on, by connection: a reload with any is refused. PHI-free. */
  readonly problems: readonly ReloadProblem[];
}

/** Reads a sample of each connection's records with the given profiles (by name). */
export type ProfileSampler = (profiles: ReadonlyMap<string, MappingProfile>) => Promise<SampleReport>;

export interface MappingCatalogWiring extends MappingCatalog {
  /** Loads and checks the profiles in use and stores them; throws MappingProfileError (start stops). */
  start(): Promise<void>;
  /** The samples of real records, once the connections that read them exist. */
  useSampler(sampler: ProfileSampler): void;
  /** Samples the running versions: at start-up, in the background. */
  sampleRunning(): Promise<void>;
}

interface Running {
  readonly profile: MappingProfile;
  readonly since: string;
}

export function createMappingCatalog(
  config: Config,
  options: { readonly store: MappingVersionStore; readonly logger: Logger; readonly now?: () => Date },
): MappingCatalogWiring {
  const { store, logger } = options;
  const now = options.now ?? (() => new Date());
  const running = new Map<string, Running>();
  // By name and hash: a copied profile has its original's hash, and a write must run as its own profile.
  const versions = new Map<string, MappingProfile>();
  const versionKey = (name: string, hash: string): string => `${name}\n${hash}`;
  // A version being compiled from the store: concurrent workers wait for the same compilation.
  const compiling = new Map<string, Promise<MappingProfile | undefined>>();
  let sampler: ProfileSampler | undefined;
  let findings: readonly EmptyFieldFinding[] = [];
  let last: ProfileReloadOutcome | undefined;
  // Reloads run one after the other: two at once could swap in an older folder state last.
  let queue: Promise<unknown> = Promise.resolve();

  const info = (name: string, entry: Running): ProfileVersionInfo => ({
    name,
    hash: entry.profile.hash,
    since: entry.since,
  });
  const runningInfo = (): ProfileVersionInfo[] => [...running].map(([name, entry]) => info(name, entry));

  /** Stores every loaded version, then makes them the running ones. */
  async function swapIn(loaded: ReadonlyMap<string, LoadedProfile>, at: string): Promise<Set<string>> {
    for (const [name, { profile, files }] of loaded) await store.put(name, profile.hash, files);
    const changed = new Set<string>();
    for (const [name, { profile }] of loaded) {
      const before = running.get(name);
      if (before?.profile.hash === profile.hash) continue;
      changed.add(name);
      running.set(name, { profile, since: at });
      versions.set(versionKey(name, profile.hash), profile);
    }
    return changed;
  }

  async function reloadNow(trigger: ProfileReloadTrigger): Promise<ProfileReloadOutcome> {
    const check = await checkConnectionProfiles(config);
    const problems: ReloadProblem[] = check.problems.map((problem) => ({
      message: formatProblem(problem),
      profile: problem.profile,
      ...(problem.connection !== undefined ? { connection: problem.connection } : {}),
    }));
    let sampled: SampleReport | undefined;
    if (problems.length === 0 && sampler !== undefined) {
      sampled = await sampler(new Map([...check.loaded].map(([name, { profile }]) => [name, profile])));
      problems.push(...sampled.problems);
    }
    const at = now().toISOString();
    let changed = new Set<string>();
    if (problems.length === 0) {
      try {
        changed = await swapIn(check.loaded, at);
      } catch (error) {
        // A version not stored must not run: a write accepted under it could not find it again.
        problems.push({ message: `the new versions could not be stored in Redis: ${firstLineOf(error)}` });
      }
    }
    const outcome: ProfileReloadOutcome = {
      ok: problems.length === 0,
      trigger,
      at,
      profiles: runningInfo().map((entry) => ({ ...entry, changed: changed.has(entry.name) })),
      problems: problems.map((problem) => problem.message),
      details: problems,
    };
    last = outcome;
    if (outcome.ok) {
      if (sampled !== undefined) findings = sampled.findings;
      logger.info(
        {
          trigger,
          // `mappingProfile`, not `name`: the log redacts every `name` as a patient's.
          profiles: outcome.profiles.map((p) => ({
            mappingProfile: p.name,
            mappingHash: p.hash,
            changed: p.changed,
          })),
        },
        changed.size > 0 ? 'mapping profiles reloaded' : 'mapping profiles reloaded; none had changed',
      );
    } else {
      logger.warn(
        {
          trigger,
          problems: outcome.problems,
          running: runningInfo().map((p) => ({
            mappingProfile: p.name,
            mappingHash: p.hash,
            since: p.since,
          })),
        },
        'mapping profiles not reloaded: the running versions stay',
      );
    }
    return outcome;
  }

  async function fromStore(name: string, hash: string): Promise<MappingProfile | undefined> {
    const stored = await store.get(hash);
    // Files stored for another profile only: not the version this profile's write was accepted under.
    if (stored === undefined || !stored.names.includes(name)) return undefined;
    const files = new Map(
      Object.entries(stored.files).map(([path, text]) => [path, Buffer.from(text, 'utf8')]),
    );
    try {
      // Named by version in its errors, so a write that fails on an older version says which.
      const compiled = await compileMappingProfile(
        join(config.mappingsDir, `${name}@${hash.slice(0, 12)}`),
        files,
        { defaultRegion: config.phone.defaultRegion },
      );
      const profile: MappingProfile = { ...compiled, name };
      versions.set(versionKey(name, hash), profile);
      return profile;
    } catch (error) {
      if (!(error instanceof MappingProfileError)) throw error;
      // A version this release no longer accepts (a stricter check): the caller falls back.
      logger.warn(
        { mappingProfile: name, mappingHash: hash, problems: error.problems.map(formatProblem) },
        'a stored mapping profile version no longer compiles',
      );
      return undefined;
    }
  }

  return {
    current: (name) => running.get(name)?.profile,
    async version(name, hash) {
      const key = versionKey(name, hash);
      const known = versions.get(key);
      if (known !== undefined) return known;
      const pending = compiling.get(key) ?? fromStore(name, hash);
      compiling.set(key, pending);
      try {
        return await pending;
      } finally {
        compiling.delete(key);
      }
    },
    names: () => [...running.keys()],
    running: runningInfo,
    reload(trigger) {
      const run = queue.then(() => reloadNow(trigger));
      queue = run.catch(() => undefined);
      return run;
    },
    lastReload: () => last,
    emptyFields: () => findings,
    async start() {
      const check = await checkConnectionProfiles(config);
      if (check.problems.length > 0) throw new MappingProfileError(check.problems);
      const at = now().toISOString();
      await swapIn(check.loaded, at);
      last = {
        ok: true,
        trigger: 'start',
        at,
        profiles: runningInfo().map((entry) => ({ ...entry, changed: true })),
        problems: [],
        details: [],
      };
    },
    useSampler(next) {
      sampler = next;
    },
    sampleRunning() {
      // In line with reloads: a sample of the versions a reload replaced must not win over its own.
      const run = queue.then(async () => {
        if (sampler === undefined) return;
        const report = await sampler(new Map([...running].map(([name, entry]) => [name, entry.profile])));
        findings = report.findings;
        if (report.problems.length > 0) {
          logger.warn(
            { problems: report.problems.map((problem) => problem.message) },
            'the running mapping profiles fail on sampled records',
          );
        }
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
