import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadMappingProfile } from '../../src/mapping';
import type { MappingProblem, MappingProfileError } from '../../src/mapping';
import { lintFhirPath } from '../../src/mapping/fhirpath-lint';

import { projectRoot } from '../../src/project-root';
import { copyDefaultProfile, editProfileFile, loadError } from '../support/scratch-profile';

const DEFAULT_DIR = join(projectRoot(), 'mappings', 'default');

describe('FHIRPath elements checked against FHIR R4 when a profile loads', () => {
  let root: string;
  let dir: string;

  beforeEach(async () => {
    ({ root, dir } = await copyDefaultProfile('continuum-lint-', 'acme'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const edit = (file: string, from: string | RegExp, to: string): Promise<void> =>
    editProfileFile(dir, file, from, to);

  async function problemsOf(): Promise<{ error: MappingProfileError; problems: readonly MappingProblem[] }> {
    const error = await loadError(dir);
    return { error, problems: error.problems };
  }

  it('loads the default profile: every element it names exists', async () => {
    const profile = await loadMappingProfile(DEFAULT_DIR, { defaultRegion: 'US' });
    expect(profile.name).toBe('default');
  });

  it('refuses a misspelled element, naming the file, field, bad name and the nearest real one', async () => {
    await edit('patient.yaml', '  gender: gender\n', '  gender: gendr\n');
    const { error, problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: join(dir, 'patient.yaml'),
        field: 'read.gender',
        message: "'gendr' is not an element of Patient (did you mean 'gender'?)",
      },
    ]);
    expect(error.message).toBe(
      `${join(dir, 'patient.yaml')}: read.gender: 'gendr' is not an element of Patient (did you mean 'gender'?)`,
    );
  });

  it('suggests the R4 spelling of cancelationReason on an Appointment', async () => {
    await edit('appointment.yaml', 'cancelationReason.coding.code', 'cancellationReason.coding.code');
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: join(dir, 'appointment.yaml'),
        field: 'read.cancellationReason',
        message: expect.stringMatching(
          /^'cancellationReason' is not an element of Appointment \(did you mean 'cancelationReason'\?\)/,
        ) as unknown,
      },
    ]);
  });

  it('follows the type into where(), and says where in a multi-line expression', async () => {
    await edit(
      'patient.yaml',
      "communication.where(preferred = true).combine(communication).first().language.select(\n      coding.where(system = 'urn:ietf:bcp:47')",
      "communication.where(prefered = true).combine(communication).first().language.select(\n      coding.where(system = 'urn:ietf:bcp:47')",
    );
    await edit(
      'patient.yaml',
      "phones: telecom.where(system = 'phone'",
      "phones: telecom.where(sytem = 'phone'",
    );
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: join(dir, 'patient.yaml'),
        field: 'read.phones',
        message: "'sytem' is not an element of ContactPoint (did you mean 'system'?)",
      },
      {
        file: join(dir, 'patient.yaml'),
        field: 'read.preferredLanguage',
        message:
          "'prefered' is not an element of Patient.communication (did you mean 'preferred'?) (expression line 1, column 21)",
      },
    ]);
  });

  it('checks rules evaluated on a part of the Patient against that part', async () => {
    await edit('patient.yaml', '    given: given\n', '    given: givn\n');
    await edit('patient.yaml', "replaces: system = 'email'", "replaces: systen = 'email'");
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: join(dir, 'patient.yaml'),
        field: 'read.name.given',
        message: "'givn' is not an element of HumanName (did you mean 'given'?)",
      },
      {
        file: join(dir, 'patient.yaml'),
        field: 'write.email.replaces',
        message: "'systen' is not an element of ContactPoint (did you mean 'system'?)",
      },
    ]);
  });

  it('checks backbone elements, references and extensions on an Appointment, Slot and Schedule', async () => {
    await edit(
      'appointment.yaml',
      "location: participant.actor.where(reference.startsWith('Location/')).first()",
      "location: participant.actr.where(reference.startsWith('Location/')).first()",
    );
    await edit('appointment.yaml', 'slot: slot.first()', 'slot: slot.first().referense');
    await edit(
      'slot.yaml',
      "modes: extension.where(url = 'https://continuum.example/fhir/StructureDefinition/visit-modes').value",
      "modes: extension.where(uri = 'https://continuum.example/fhir/StructureDefinition/visit-modes').value",
    );
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: join(dir, 'appointment.yaml'),
        field: 'read.slot',
        message: "'referense' is not an element of Reference (did you mean 'reference'?)",
      },
      {
        file: join(dir, 'appointment.yaml'),
        field: 'read.location',
        message: "'actr' is not an element of Appointment.participant (did you mean 'actor'?)",
      },
      {
        file: join(dir, 'slot.yaml'),
        field: 'schedule.modes',
        message: "'uri' is not an element of Extension (did you mean 'url'?)",
      },
    ]);
  });
});

describe('lintFhirPath', () => {
  const messages = (source: string, base: string): string[] =>
    lintFhirPath(source, base).map((problem) => problem.message);

  it('accepts choice types by their name and each typed name, and checks inside a typed one', () => {
    expect(messages('deceased.exists() or deceasedBoolean or deceasedDateTime.exists()', 'Patient')).toEqual(
      [],
    );
    expect(messages("extension.where(url = 'x').value.coding.code", 'Appointment')).toEqual([]);
    expect(messages("extension('x').valueCodeableConcept.codng.code", 'Appointment')).toEqual([
      "'codng' is not an element of CodeableConcept (did you mean 'coding'?)",
    ]);
    expect(messages('deceasedBool', 'Patient')).toEqual([
      "'deceasedBool' is not an element of Patient (did you mean 'deceasedBoolean'?)",
    ]);
  });

  it('follows combine, union, select, ofType and the resource type named at the start', () => {
    expect(messages('(name | name).famly', 'Patient')).toEqual([
      "'famly' is not an element of HumanName (did you mean 'family'?)",
    ]);
    expect(messages('telecom.select(valu)', 'Patient')).toEqual([
      "'valu' is not an element of ContactPoint (did you mean 'value'?)",
    ]);
    expect(messages('name.ofType(HumanName).given.combine(telecom.vale)', 'Patient')).toEqual([
      "'vale' is not an element of ContactPoint (did you mean 'value'?)",
    ]);
    expect(messages('Patient.name.gven', 'Patient')).toEqual([
      "'gven' is not an element of HumanName (did you mean 'given'?)",
    ]);
    expect(messages('participant.actor.referenc', 'Appointment')).toEqual([
      "'referenc' is not an element of Reference (did you mean 'reference'?)",
    ]);
  });

  it('takes the argument of ofType, as and is as a type, not an element', () => {
    for (const [source, base] of [
      ['deceased.ofType(dateTime)', 'Patient'],
      ['multipleBirth.ofType(integer)', 'Patient'],
      ["extension('u').value.ofType(string)", 'Patient'],
      ["extension('u').value.as(string)", 'Patient'],
      ['extension.where(value.is(code))', 'Patient'],
      ['telecom.where(value.is(string))', 'Patient'],
      ['telecom.where(value.is(FHIR.string))', 'Patient'],
      ["extension('u').value.ofType(FHIR.string)", 'Patient'],
      ["extension('u').value.ofType(System.String)", 'Patient'],
      ['multipleBirth.as(System.Integer)', 'Patient'],
      ['telecom.value is FHIR.string', 'Patient'],
      ["extension('u').value.ofType(CodeableConcept).coding.code", 'Appointment'],
    ] as const) {
      expect([source, messages(source, base)]).toEqual([source, []]);
    }
  });

  it('follows the type ofType names, so a misspelling after it is still caught', () => {
    expect(messages("extension('u').value.ofType(CodeableConcept).codng.code", 'Appointment')).toEqual([
      "'codng' is not an element of CodeableConcept (did you mean 'coding'?)",
    ]);
    expect(messages("extension('u').value.as(FHIR.Coding).sytem", 'Appointment')).toEqual([
      "'sytem' is not an element of Coding (did you mean 'system'?)",
    ]);
    expect(messages('telecom.where(valu.is(string))', 'Patient')).toEqual([
      "'valu' is not an element of ContactPoint (did you mean 'value'?)",
    ]);
  });

  it('stays quiet where the type cannot be known', () => {
    for (const source of [
      'generalPractitioner.resolve().whatever',
      '%current.anything',
      'contained.name',
      'contained.ofType(Patient).name.given',
      'identifier.value.e164().anything',
      'children().anything',
      'name.ofType(Unknown).anything',
      "defineVariable('x', name).select(%x.given)",
    ]) {
      expect([source, messages(source, 'Patient')]).toEqual([source, []]);
    }
  });
});
