/**
 * The mapping workbench on the profiles under the mappings folder: reads a profile's files, applies
 * unsaved edits, compiles the result with the loader's full validation, explains records with it,
 * evaluates single expressions, and saves fixtures and rules back to the folder.
 */
import { access, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ContinuumError } from '../domain/errors';
import type { Resource } from '../domain/fhir';
import type { MappingProfile } from '../domain/mapping-profile';
import type {
  MappingWorkbench,
  ProfileChoice,
  ResolvedProfile,
  WorkbenchProblem,
} from '../domain/mapping-workbench';
import { createPhoneNormalizer } from '../phone';
import type { CountryCode } from '../phone';
import { applyRuleEdits } from './apply-edits';
import { evaluateExpression } from './evaluate-expression';
import { explainResource } from './explain-profile';
import { WORKBENCH_TEMPLATE_TIME_LIMIT_MS } from './jsonata-template';
import { compileFhirPath } from './fhirpath-expression';
import { expectedOutput, FIXTURE_MEMBERS } from './fixture-drafts';
import { compileMappingProfile, phoneFunctions } from './load-mapping-profile';
import { MappingProfileError } from './mapping-profile-error';
import { hashProfileFiles, readProfileFiles, type ProfileFiles } from './profile-files';
import { checkFixture, FIXTURE_KINDS, isFixtureKind, runProfileFixtures } from './profile-fixtures';
import { settingSources } from './profile-settings';
import { ruleSource, ruleSources } from './rule-sources';

export interface ProfileWorkbenchOptions {
  /** The folder holding the profiles (`mappings.dir`). */
  readonly mappingsDir: string;
  /** The gateway's `phone.defaultRegion`, as profiles are loaded with it. */
  readonly defaultRegion?: CountryCode;
}

/** A profile name is a folder name: no separators, no dot segments. */
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const FIXTURE_NAME = /^[a-z0-9][a-z0-9-]{0,79}$/;

interface Resolved extends ResolvedProfile {
  readonly files: ProfileFiles;
}

export function createProfileWorkbench(options: ProfileWorkbenchOptions): MappingWorkbench {
  /**
   * The save in progress per profile: a save reads, checks and writes the files, so two at once
   * could both pass the hash check and the later would undo the earlier. One at a time per profile,
   * in this process; a change made on disk meanwhile shows as a changed hash.
   */
  const saving = new Map<string, Promise<unknown>>();
  const oneSaveAtATime = <T>(name: string, save: () => Promise<T>): Promise<T> => {
    const previous = saving.get(name) ?? Promise.resolve();
    const next = previous.then(save);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    saving.set(name, settled);
    void settled.then(() => {
      if (saving.get(name) === settled) saving.delete(name);
    });
    return next;
  };
  const dirOf = (name: string): string => {
    if (!PROFILE_NAME.test(name) || name.includes('..')) {
      throw new ContinuumError('NOT_FOUND', { detail: `no mapping profile named "${name}"` });
    }
    return join(options.mappingsDir, name);
  };
  const filesOf = async (name: string): Promise<ProfileFiles> => {
    try {
      return await readProfileFiles(dirOf(name));
    } catch (error) {
      if (error instanceof ContinuumError) throw error;
      throw new ContinuumError('NOT_FOUND', { detail: `no mapping profile named "${name}"` });
    }
  };
  const compile = async (
    name: string,
    files: ProfileFiles,
  ): Promise<{ profile?: MappingProfile; problems: WorkbenchProblem[] }> => {
    try {
      const compileOptions = {
        templateTimeLimitMs: WORKBENCH_TEMPLATE_TIME_LIMIT_MS,
        ...(options.defaultRegion === undefined ? {} : { defaultRegion: options.defaultRegion }),
      };
      return { profile: await compileMappingProfile(dirOf(name), files, compileOptions), problems: [] };
    } catch (error) {
      if (!(error instanceof MappingProfileError)) throw error;
      return { problems: error.problems.map((problem) => relativeTo(dirOf(name), problem)) };
    }
  };

  const resolve = async (choice: ProfileChoice): Promise<Resolved> => {
    const files = await filesOf(choice.name);
    const problems: WorkbenchProblem[] = [];
    if (choice.edits.length > 0) {
      const edited = applyRuleEdits(files, choice.edits);
      problems.push(...edited.problems);
      if (edited.problems.length === 0) {
        const compiled = await compile(choice.name, edited.files);
        problems.push(...compiled.problems);
        if (compiled.profile !== undefined) {
          const used = { name: choice.name, hash: compiled.profile.hash, edited: true };
          return { profile: compiled.profile, used, problems, files: edited.files };
        }
      }
    }
    // No edits, or edits that do not compile: the profile as it is, so the page still shows the record.
    const hash = hashProfileFiles(files);
    if (choice.running !== undefined && choice.running.hash === hash) {
      return { profile: choice.running, used: { name: choice.name, hash, edited: false }, problems, files };
    }
    const compiled = await compile(choice.name, files);
    if (compiled.profile !== undefined) {
      return { profile: compiled.profile, used: { name: choice.name, hash, edited: false }, problems, files };
    }
    if (choice.running !== undefined) {
      // The files on disk are broken: the running version is still what connections use.
      const used = { name: choice.name, hash: choice.running.hash, edited: false };
      return { profile: choice.running, used, problems: [...problems, ...compiled.problems], files };
    }
    throw profileProblems(`mapping profile ${choice.name} does not load`, [
      ...problems,
      ...compiled.problems,
    ]);
  };

  const contextOf = (profile: MappingProfile, files: ProfileFiles, resource: Resource) => {
    const constants = { mrnSystems: profile.mrnSystems };
    const functions = phoneFunctions(createPhoneNormalizer(profile.phoneRegion));
    /** `Patient.name` and `Patient.address` start from the element the profile's `from` rule picks. */
    const picked = (base: string): unknown => {
      const part = /^Patient\.(name|address)$/.exec(base)?.[1];
      const source = part === undefined ? undefined : ruleSource(files, 'patient.yaml', `read.${part}.from`);
      if (source === undefined || resource.resourceType !== 'Patient') return undefined;
      const found = compileFhirPath(source, { constants, functions }).evaluate(resource);
      return found.find((item) => typeof item === 'object' && item !== null) ?? null;
    };
    return { constants, functions, picked };
  };

  return {
    async folders() {
      let entries;
      try {
        entries = await readdir(options.mappingsDir, { withFileTypes: true });
      } catch {
        return [];
      }
      const names = entries
        .filter((entry) => entry.isDirectory() && PROFILE_NAME.test(entry.name) && !entry.name.includes('..'))
        .map((entry) => entry.name);
      const holding = await Promise.all(
        names.map(async (name) => {
          try {
            await access(join(options.mappingsDir, name, 'profile.yaml'));
            return true;
          } catch {
            return false;
          }
        }),
      );
      return names.filter((_name, index) => holding[index] === true).sort();
    },

    async summary(name) {
      const files = await filesOf(name);
      const fixtures: Record<string, number> = {};
      for (const { kind } of fixturesOf(files)) fixtures[kind] = (fixtures[kind] ?? 0) + 1;
      return { name, hash: hashProfileFiles(files), files: [...files.keys()], fixtures };
    },

    async detail(name) {
      const files = await filesOf(name);
      const yamlFiles = [...files].filter(([path]) => !path.startsWith('fixtures/') && /\.ya?ml$/.test(path));
      return {
        name,
        hash: hashProfileFiles(files),
        files: Object.fromEntries(yamlFiles.map(([path, content]) => [path, content.toString('utf8')])),
        rules: ruleSources(files),
        settings: settingSources(files),
        fixtures: fixturesOf(files),
      };
    },

    resolve: async (choice) => {
      const { profile, used, problems } = await resolve(choice);
      return { profile, used, problems };
    },

    async explain(choice, resourceType, resource, schedule) {
      const resolved = await resolve(choice);
      const fields = explainResource(resolved.profile, resolved.files, resourceType, resource, schedule);
      return { profile: resolved.used, resource, fields, problems: resolved.problems };
    },

    async evaluate(choice, expression, resource) {
      const resolved = await resolve(choice);
      return evaluateExpression(expression, resource, contextOf(resolved.profile, resolved.files, resource));
    },

    async saveFixture(choice, draft) {
      if (!FIXTURE_NAME.test(draft.name)) {
        throw invalid('name', 'must be a slug: lower-case letters, digits and dashes');
      }
      // The type says so, but the kind becomes a folder name: a kind the runner does not know would
      // fail the profile's next load.
      if (!isFixtureKind(draft.kind)) {
        throw invalid('kind', `is not a fixture kind: one of ${FIXTURE_KINDS.join(', ')}`);
      }
      for (const member of FIXTURE_MEMBERS[draft.kind].required) {
        if (draft.members[member] === undefined)
          throw invalid(member, `is required for a ${draft.kind} fixture`);
      }
      const relative = `fixtures/${draft.kind}/${draft.name}.json`;
      const path = join(dirOf(choice.name), relative);
      const resolved = await resolve(choice);
      let expected = draft.expected;
      if (expected === undefined) {
        try {
          expected = await expectedOutput(resolved.profile, draft.kind, draft.members);
        } catch (error) {
          if (error instanceof ContinuumError) throw error;
          throw new ContinuumError('VALIDATION', {
            detail: `the profile fails on this case, so there is no expected output to save: ${error instanceof Error ? error.message : String(error)}`,
          });
        }
      }
      const fixture = {
        ...(draft.description !== undefined ? { description: draft.description } : {}),
        ...draft.members,
        expected,
      };
      // A fixture that fails (a wrong expected, a member the kind does not take) would fail the
      // profile's tests, and with them the next reload or start: it is refused, nothing written.
      const check = await checkFixture(resolved.profile, draft.kind, `${draft.kind}/${draft.name}`, fixture);
      if (!check.passed) {
        throw profileProblems(
          'the fixture fails against the profile',
          [{ file: relative, field: '', message: `fixture fails: ${check.diff ?? ''}` }],
          false,
        );
      }
      await mkdir(dirname(path), { recursive: true });
      try {
        await writeFile(path, `${JSON.stringify(fixture, null, 2)}\n`, {
          flag: draft.overwrite ? 'w' : 'wx',
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        throw new ContinuumError('CONFLICT', {
          detail: `${relative} exists: send overwrite: true to replace it`,
        });
      }
      return { path: relative };
    },

    saveRules: (name, edits, expectedHash) =>
      oneSaveAtATime(name, async () => {
        const files = await filesOf(name);
        const current = hashProfileFiles(files);
        if (expectedHash !== undefined && expectedHash !== current) {
          throw new ContinuumError('CONFLICT', {
            detail: `the profile changed on disk since it was read (files now ${current.slice(0, 12)}, edits made on ${expectedHash.slice(0, 12)}): reload it and edit again`,
            extra: { hash: current },
          });
        }
        const edited = applyRuleEdits(files, edits);
        if (edited.problems.length > 0) throw profileProblems('the edits do not apply', edited.problems);
        const compiled = await compile(name, edited.files);
        if (compiled.profile === undefined)
          throw profileProblems('the edited profile does not load', compiled.problems);
        const failed = await fixtureFailures(edited.files, compiled.profile);
        if (failed.length > 0) throw profileProblems('fixtures fail with the edited profile', failed, false);
        for (const file of edited.changed) {
          const path = join(dirOf(name), file);
          // Written whole then renamed, so a file watcher never sees half a file; the dot keeps the
          // temporary out of a reload that lists the folder meanwhile (dot files are not profile files).
          const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.saving`);
          await writeFile(temporary, edited.files.get(file) ?? Buffer.alloc(0));
          await rename(temporary, path);
        }
        return { written: edited.changed, hash: hashProfileFiles(edited.files) };
      }),
  };
}

/** The fixtures of a profile, by the folder they sit in. */
function fixturesOf(files: ProfileFiles): { kind: string; name: string }[] {
  return [...files.keys()].flatMap((path) => {
    const match = /^fixtures\/([^/]+)\/([^/]+)\.json$/.exec(path);
    return match === null ? [] : [{ kind: match[1] ?? '', name: match[2] ?? '' }];
  });
}

/**
 * The profile's fixtures run against `profile`. The runner reads fixtures from a folder, so the
 * edited files are written to a temporary one first.
 */
async function fixtureFailures(files: ProfileFiles, profile: MappingProfile): Promise<WorkbenchProblem[]> {
  const dir = await mkdtemp(join(tmpdir(), 'continuum-profile-'));
  try {
    for (const [path, content] of files) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    const results = await runProfileFixtures(dir, profile);
    return results
      .filter((result) => !result.passed)
      .map((result) => ({
        file: result.path,
        field: '',
        message: `fixture fails: ${result.diff ?? ''}`,
      }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function relativeTo(dir: string, problem: WorkbenchProblem): WorkbenchProblem {
  const prefix = `${dir}/`;
  return {
    ...problem,
    file: problem.file.startsWith(prefix) ? problem.file.slice(prefix.length) : problem.file,
  };
}

/**
 * 422 with every problem in `problems`. Fixture diffs quote fixture data (which may come from a real
 * record), so the detail, which logs may carry, only counts them.
 */
function profileProblems(
  detail: string,
  problems: readonly WorkbenchProblem[],
  quote = true,
): ContinuumError {
  const listed = problems.map((p) => `${p.file}${p.field === '' ? '' : ` ${p.field}`}: ${p.message}`);
  return new ContinuumError('VALIDATION', {
    status: 422,
    detail: quote ? `${detail}: ${listed.join('; ')}` : `${detail} (${problems.length})`,
    extra: { problems },
  });
}

function invalid(field: string, message: string): ContinuumError {
  return new ContinuumError('VALIDATION', {
    detail: `${field}: ${message}`,
    extra: { errors: [{ field, message }] },
  });
}
