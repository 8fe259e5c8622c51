import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { APPOINTMENT_MODES, type AppointmentMode } from '../domain/appointment';
import type { CallbackRequest, CallLog } from '../domain/call';
import type { Appointment, Patient, Schedule, Slot } from '../domain/fhir';
import type { PatientChanges } from '../domain/patient';
import { firstLine } from './fhirpath-expression';
import { asJson, jsonDiff } from './json-diff';
import { jsonParseMessage } from './source-position';
import type { MappingProfile } from '../domain/mapping-profile';

/** The outcome of one fixture; `diff` says what differs (or why it could not run) when it failed. */
export interface FixtureResult {
  readonly name: string;
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
    action: z.literal('hold'),
    input: z.looseObject({ resourceType: z.literal('Appointment') }),
    reason: z.string().optional(),
    expected: z.looseObject({ resourceType: z.literal('Appointment') }),
  }),
]);

const writeFixture = z.strictObject({
  description: z.string().optional(),
  input: patient,
  changes: z.looseObject({}),
  expected: patient,
  /** touchedElements(changes), when the fixture wants to pin it. */
  touched: z.array(z.string()).optional(),
});

/**
 * Runs `fixtures/read/*.json` (`{input, expected}`: Patient -> model), `fixtures/write/*.json`
 * (`{input, changes, expected, touched?}`: Patient + changes -> Patient) and
 * `fixtures/appointment-read/*.json` (Appointment -> model) of the profile in `dir`, and the
 * slot, call, callback and appointment-write (convert, hold) folders beside them.
 * A fixture that cannot be read or throws is a failure with the reason, never an exception.
 */
export async function runProfileFixtures(dir: string, profile: MappingProfile): Promise<FixtureResult[]> {
  const read = await fixtureFiles(join(dir, 'fixtures', 'read'));
  const write = await fixtureFiles(join(dir, 'fixtures', 'write'));
  const appointmentRead = await fixtureFiles(join(dir, 'fixtures', 'appointment-read'));
  const extra = [
    ['slot-read', slotReadCase],
    ['call-write', callWriteCase],
    ['callback-write', callbackWriteCase],
    ['appointment-write', appointmentWriteCase],
  ] as const;
  const extraFiles = await Promise.all(extra.map(([folder]) => fixtureFiles(join(dir, 'fixtures', folder))));
  return [
    ...(await Promise.all(
      read.map((file) => runFixture(`read/${file}`, join(dir, 'fixtures', 'read', file), readCase)),
    )),
    ...(await Promise.all(
      write.map((file) => runFixture(`write/${file}`, join(dir, 'fixtures', 'write', file), writeCase)),
    )),
    ...(await Promise.all(
      appointmentRead.map((file) =>
        runFixture(
          `appointment-read/${file}`,
          join(dir, 'fixtures', 'appointment-read', file),
          appointmentReadCase,
        ),
      ),
    )),
    ...(await Promise.all(
      extra.flatMap(([folder, check], i) =>
        (extraFiles[i] ?? []).map((file) =>
          runFixture(`${folder}/${file}`, join(dir, 'fixtures', folder, file), check),
        ),
      ),
    )),
  ].map(({ name, ...rest }) => ({ name: name.replace(/\.json$/, ''), ...rest }));

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
    const task = await profile.buildCallbackTask(
      fixture.callback as unknown as CallbackRequest,
      fixture.authoredOn,
    );
    return jsonDiff(asJson(fixture.expected), asJson(task));
  }

  /** `{action: 'convert', input, mode, reason?, expected}` or `{action: 'hold', input, reason?, expected}`. */
  async function appointmentWriteCase(json: unknown): Promise<string[]> {
    const fixture = appointmentWriteFixture.parse(json);
    const input = fixture.input as unknown as Appointment;
    const before = JSON.stringify(input);
    const output =
      fixture.action === 'convert'
        ? await profile.convertAppointment(input, fixture.mode, fixture.reason)
        : await profile.holdAppointment(input, fixture.reason);
    const lines = jsonDiff(asJson(fixture.expected), asJson(output));
    if (JSON.stringify(input) !== before)
      lines.push(`(input): the ${fixture.action} template modified its input`);
    return lines;
  }

  async function writeCase(json: unknown): Promise<string[]> {
    const fixture = writeFixture.parse(json);
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

async function fixtureFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.json') && !name.startsWith('.')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function runFixture(
  name: string,
  path: string,
  check: (json: unknown) => string[] | Promise<string[]>,
): Promise<FixtureResult> {
  let json: unknown;
  let text = '';
  try {
    text = await readFile(path, 'utf8');
    json = JSON.parse(text);
  } catch (error) {
    return { name, passed: false, diff: `cannot read the fixture: ${jsonParseMessage(error, text)}` };
  }
  try {
    const lines = await check(json);
    return lines.length === 0 ? { name, passed: true } : { name, passed: false, diff: lines.join('\n') };
  } catch (error) {
    const reason =
      error instanceof z.ZodError
        ? `the fixture is not valid: ${error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`).join('; ')}`
        : `threw: ${firstLine(error)}`;
    return { name, passed: false, diff: reason };
  }
}
