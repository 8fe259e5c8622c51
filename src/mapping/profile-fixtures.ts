import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { APPOINTMENT_MODES, type AppointmentMode } from '../domain/appointment';
import type { CallbackRequest, CallLog } from '../domain/call';
import type { Appointment, Patient, Schedule, Slot } from '../domain/fhir';
import type { NewPatient, PatientChanges } from '../domain/patient';
import { WRITE_FIELDS } from './patient-writer';
import { firstLine } from './fhirpath-expression';
import { asJson, jsonDiff } from './json-diff';
import { jsonParseMessage } from './source-position';
import { FIXTURE_KINDS, type FixtureKind } from '../domain/fixture-kinds';
import type { MappingProfile } from '../domain/mapping-profile';

export { FIXTURE_KINDS, type FixtureKind };

/** The outcome of one fixture; `diff` says what differs (or why it could not run) when it failed. */
export interface FixtureResult {
  readonly name: string;
  /** The file (or folder) the result is about, relative to the profile: `fixtures/read/x.json`. */
  readonly path: string;
  readonly passed: boolean;
  readonly diff?: string;
}

const patient = z.looseObject({ resourceType: z.literal('Patient') });

const readFixture = z.strictObject({
  description: z.string().optional(),
  input: patient,
  expected: z.looseObject({}),
});

const appointmentReadFixture = z.strictObject({
  description: z.string().optional(),
  input: z.looseObject({ resourceType: z.literal('Appointment') }),
  expected: z.looseObject({}),
});

const slotReadFixture = z.strictObject({
  description: z.string().optional(),
  slot: z.looseObject({ resourceType: z.literal('Slot') }),
  schedule: z.looseObject({ resourceType: z.literal('Schedule') }).optional(),
  expected: z.looseObject({}),
});

const callWriteFixture = z.strictObject({
  description: z.string().optional(),
  call: z.looseObject({}),
  /** The Encounter id the Communication links to. */
  encounterId: z.string(),
  expected: z.strictObject({ encounter: z.looseObject({}), communication: z.looseObject({}) }),
});

const callbackWriteFixture = z.strictObject({
  description: z.string().optional(),
  callback: z.looseObject({}),
  authoredOn: z.string(),
  expected: z.looseObject({ resourceType: z.literal('Task') }),
});

const appointmentWriteFixture = z.discriminatedUnion('action', [
  z.strictObject({
    description: z.string().optional(),
    action: z.literal('convert'),
    input: z.looseObject({ resourceType: z.literal('Appointment') }),
    mode: z.enum(APPOINTMENT_MODES as [AppointmentMode, ...AppointmentMode[]]),
    reason: z.string().optional(),
    expected: z.looseObject({ resourceType: z.literal('Appointment') }),
  }),
  z.strictObject({
    description: z.string().optional(),
    action: z.literal('cancel'),
    input: z.looseObject({ resourceType: z.literal('Appointment') }),
    reason: z.string().optional(),
    expected: z.looseObject({ resourceType: z.literal('Appointment') }),
  }),
  z.strictObject({
    description: z.string().optional(),
    action: z.literal('hold'),
    input: z.looseObject({ resourceType: z.literal('Appointment') }),
    reason: z.string().optional(),
    expected: z.looseObject({ resourceType: z.literal('Appointment') }),
  }),
]);

const bookFixture = z.strictObject({
  description: z.string().optional(),
  slot: z.looseObject({ resourceType: z.literal('Slot') }),
  schedule: z.looseObject({ resourceType: z.literal('Schedule') }).optional(),
  booking: z.strictObject({
    patientId: z.string(),
    mode: z.enum(APPOINTMENT_MODES as [AppointmentMode, ...AppointmentMode[]]),
    appointmentType: z.string().optional(),
    reason: z.string().optional(),
  }),
  expected: z.looseObject({ resourceType: z.literal('Appointment') }),
});

const createFixture = z.strictObject({
  description: z.string().optional(),
  /** The new patient as the registration API takes it (name, birthDate, gender, mrn, phones...). */
  patient: z.looseObject({}),
  expected: patient,
});

const writeFixture = z.strictObject({
  description: z.string().optional(),
  input: patient,
  changes: z.looseObject({}),
  expected: patient,
  /** touchedElements(changes), when the fixture wants to pin it. */
  touched: z.array(z.string()).optional(),
});

/**
 * Every template of a profile, as `mappings test` names it; each needs at least one fixture. The
 * cancellation is how a cancel changes the Appointment (status and the coded reason).
 */
export const FIXTURE_TEMPLATES = [
  'book',
  'cancel',
  'convert',
  'hold',
  'create',
  'write.phones',
  'write.email',
  'write.address',
  'write.preferredLanguage',
  'encounter',
  'communication',
  'callback',
] as const;
export type FixtureTemplate = (typeof FIXTURE_TEMPLATES)[number];

type FixtureCheck = (json: unknown) => string[] | Promise<string[]>;

/**
 * Runs every fixture of the profile in `dir`, one folder per kind (README: Fixtures). A folder or
 * file the runner does not know is a failure naming it, not something quietly skipped; a template
 * no fixture exercises is a failure naming the template. A fixture that cannot be read or throws is
 * a failure with the reason, never an exception.
 */
export async function runProfileFixtures(dir: string, profile: MappingProfile): Promise<FixtureResult[]> {
  const covered = new Set<FixtureTemplate>();
  const kinds = fixtureChecks(profile, covered);
  const root = join(dir, 'fixtures');
  const results: FixtureResult[] = [];
  const jobs: (() => Promise<FixtureResult>)[] = [];
  for (const entry of await entriesOf(root)) {
    if (entry.name.startsWith('.')) continue;
    const check = isFixtureKind(entry.name) ? kinds[entry.name] : undefined;
    if (!entry.isDirectory() || check === undefined) {
      results.push(...(await notAKind(root, entry)));
      continue;
    }
    for (const file of await entriesOf(join(root, entry.name))) {
      if (file.name.startsWith('.')) continue;
      const name = `${entry.name}/${file.name}`;
      const path = `fixtures/${name}`;
      if (!file.isFile() || !file.name.endsWith('.json')) {
        results.push({ name, path, passed: false, diff: 'not a fixture: fixtures are .json files' });
        continue;
      }
      jobs.push(() =>
        runFixture(name.replace(/\.json$/, ''), path, join(root, entry.name, file.name), check),
      );
    }
  }
  // One at a time: a template's time limit is measured by the clock, and fixtures run side by side
  // would each be charged for the others' work on a busy machine.
  for (const job of jobs) results.push(await job());
  for (const template of FIXTURE_TEMPLATES) {
    if (covered.has(template)) continue;
    results.push({
      name: `(${template})`,
      path: 'fixtures',
      passed: false,
      diff: `no fixture exercises the ${template} template: add one to fixtures/${FIXTURE_FOLDER[template]}`,
    });
  }
  return results.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * One fixture of `kind`, given as its JSON, run against `profile` as `mappings test` runs it (the
 * workbench checks a fixture this way before it saves it). `name` is how the result is named.
 */
export async function checkFixture(
  profile: MappingProfile,
  kind: FixtureKind,
  name: string,
  json: unknown,
): Promise<FixtureResult> {
  const check = fixtureChecks(profile, new Set())[kind];
  return outcomeOf(name, `fixtures/${name}.json`, () => check(json));
}

/** The check of each fixture kind; `covered` collects the templates the checks exercised. */
function fixtureChecks(
  profile: MappingProfile,
  covered: Set<FixtureTemplate>,
): Readonly<Record<FixtureKind, FixtureCheck>> {
  return {
    read: readCase,
    write: writeCase,
    create: createCase,
    'appointment-read': appointmentReadCase,
    'appointment-book': bookCase,
    'appointment-write': appointmentWriteCase,
    'slot-read': slotReadCase,
    'call-write': callWriteCase,
    'callback-write': callbackWriteCase,
  };

  function readCase(json: unknown): string[] {
    const fixture = readFixture.parse(json);
    return jsonDiff(asJson(fixture.expected), asJson(profile.readPatient(fixture.input)));
  }

  function appointmentReadCase(json: unknown): string[] {
    const fixture = appointmentReadFixture.parse(json);
    return jsonDiff(
      asJson(fixture.expected),
      asJson(profile.readAppointment(fixture.input as unknown as Appointment)),
    );
  }

  function slotReadCase(json: unknown): string[] {
    const fixture = slotReadFixture.parse(json);
    return jsonDiff(
      asJson(fixture.expected),
      asJson(
        profile.readSlot(
          fixture.slot as unknown as Slot,
          fixture.schedule as unknown as Schedule | undefined,
        ),
      ),
    );
  }

  async function callWriteCase(json: unknown): Promise<string[]> {
    const fixture = callWriteFixture.parse(json);
    covered.add('encounter').add('communication');
    const call = fixture.call as unknown as CallLog;
    return [
      ...jsonDiff(
        asJson(fixture.expected.encounter),
        asJson(await profile.buildCallEncounter(call)),
        'encounter',
      ),
      ...jsonDiff(
        asJson(fixture.expected.communication),
        asJson(await profile.buildCallCommunication(call, fixture.encounterId)),
        'communication',
      ),
    ];
  }

  async function callbackWriteCase(json: unknown): Promise<string[]> {
    const fixture = callbackWriteFixture.parse(json);
    covered.add('callback');
    const task = await profile.buildCallbackTask(
      fixture.callback as unknown as CallbackRequest,
      fixture.authoredOn,
    );
    return jsonDiff(asJson(fixture.expected), asJson(task));
  }

  /** `{action: 'convert', input, mode, reason?, expected}`, or `cancel` / `hold` with `{input, reason?, expected}`. */
  async function appointmentWriteCase(json: unknown): Promise<string[]> {
    const fixture = appointmentWriteFixture.parse(json);
    covered.add(fixture.action);
    const input = fixture.input as unknown as Appointment;
    const before = JSON.stringify(input);
    const output =
      fixture.action === 'convert'
        ? await profile.convertAppointment(input, fixture.mode, fixture.reason)
        : fixture.action === 'hold'
          ? await profile.holdAppointment(input, fixture.reason)
          : profile.cancelAppointment(input, fixture.reason);
    const lines = jsonDiff(asJson(fixture.expected), asJson(output));
    if (JSON.stringify(input) !== before)
      lines.push(`(input): the ${fixture.action} template modified its input`);
    return lines;
  }

  /** `{slot, schedule?, booking: {patientId, mode, appointmentType?, reason?}, expected}`. */
  async function bookCase(json: unknown): Promise<string[]> {
    const fixture = bookFixture.parse(json);
    covered.add('book');
    const { patientId, mode, appointmentType, reason } = fixture.booking;
    const output = await profile.buildAppointment(
      fixture.slot as unknown as Slot,
      fixture.schedule as unknown as Schedule | undefined,
      { patientId, mode, appointmentType, reason },
    );
    return jsonDiff(asJson(fixture.expected), asJson(output));
  }

  /** `{patient, expected}`: a registration's new patient -> the Patient it creates. */
  async function createCase(json: unknown): Promise<string[]> {
    const fixture = createFixture.parse(json);
    covered.add('create');
    return jsonDiff(
      asJson(fixture.expected),
      asJson(await profile.buildPatient(fixture.patient as unknown as NewPatient)),
    );
  }

  async function writeCase(json: unknown): Promise<string[]> {
    const fixture = writeFixture.parse(json);
    for (const field of WRITE_FIELDS) if (field in fixture.changes) covered.add(`write.${field}`);
    const input = fixture.input as Patient;
    const before = JSON.stringify(input);
    const changes = fixture.changes as PatientChanges;
    const lines = jsonDiff(
      asJson(fixture.expected),
      asJson(await profile.applyPatientChanges(input, changes)),
    );
    if (JSON.stringify(input) !== before) lines.push('(input): applyPatientChanges modified its input');
    if (fixture.touched !== undefined) {
      lines.push(...jsonDiff(fixture.touched, profile.touchedElements(changes), 'touched'));
    }
    return lines;
  }
}

const FIXTURE_FOLDER: Readonly<Record<FixtureTemplate, string>> = {
  book: 'appointment-book',
  cancel: 'appointment-write (action cancel)',
  convert: 'appointment-write (action convert)',
  hold: 'appointment-write (action hold)',
  create: 'create',
  'write.phones': 'write (changes naming phones)',
  'write.email': 'write (changes naming email)',
  'write.address': 'write (changes naming address)',
  'write.preferredLanguage': 'write (changes naming preferredLanguage)',
  encounter: 'call-write',
  communication: 'call-write',
  callback: 'callback-write',
};

async function entriesOf(dir: string): Promise<Dirent[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export function isFixtureKind(name: string): name is FixtureKind {
  return (FIXTURE_KINDS as readonly string[]).includes(name);
}

/**
 * What sits in `fixtures/` under a name that is no kind: each file of such a folder is named with
 * its own path (`fixtures/reed/typo-kind.json`), so the message points at what to move.
 */
async function notAKind(root: string, entry: Dirent): Promise<FixtureResult[]> {
  const diff = `not a fixture kind: '${entry.name}' is none of the folders ${FIXTURE_KINDS.join(', ')}`;
  const files = entry.isDirectory()
    ? (await entriesOf(join(root, entry.name))).filter((file) => !file.name.startsWith('.'))
    : [];
  if (files.length === 0) return [{ name: entry.name, path: `fixtures/${entry.name}`, passed: false, diff }];
  return files.map((file) => ({
    name: `${entry.name}/${file.name.replace(/\.json$/, '')}`,
    path: `fixtures/${entry.name}/${file.name}`,
    passed: false,
    diff,
  }));
}

async function runFixture(
  name: string,
  relative: string,
  path: string,
  check: FixtureCheck,
): Promise<FixtureResult> {
  let json: unknown;
  let text = '';
  try {
    text = await readFile(path, 'utf8');
    json = JSON.parse(text);
  } catch (error) {
    const diff = `cannot read the fixture: ${jsonParseMessage(error, text)}`;
    return { name, path: relative, passed: false, diff };
  }
  return outcomeOf(name, relative, () => check(json));
}

/** A fixture's check as a result: what differs, or why it could not run; never an exception. */
async function outcomeOf(
  name: string,
  path: string,
  check: () => string[] | Promise<string[]>,
): Promise<FixtureResult> {
  try {
    const lines = await check();
    return lines.length === 0
      ? { name, path, passed: true }
      : { name, path, passed: false, diff: lines.join('\n') };
  } catch (error) {
    const reason =
      error instanceof z.ZodError
        ? `the fixture is not valid: ${error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`).join('; ')}`
        : `threw: ${firstLine(error)}`;
    return { name, path, passed: false, diff: reason };
  }
}
