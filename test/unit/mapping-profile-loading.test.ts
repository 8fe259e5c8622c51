import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadMappingProfile, MappingProfileError, runProfileFixtures } from '../../src/mapping';
import type { MappingProblem } from '../../src/mapping';

import { projectRoot } from '../../src/project-root';
import { copyDefaultProfile, editProfileFile, loadError } from '../support/scratch-profile';

const DEFAULT_DIR = join(projectRoot(), 'mappings', 'default');

describe('loading a mapping profile', () => {
  let root: string;
  let dir: string;

  beforeEach(async () => {
    ({ root, dir } = await copyDefaultProfile('continuum-mapping-', 'custom'));
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

  const patientFile = (): string => join(dir, 'patient.yaml');
  const profileFile = (): string => join(dir, 'profile.yaml');

  it('loads an unchanged copy, named after its folder', async () => {
    const profile = await loadMappingProfile(dir, { defaultRegion: 'US' });
    expect(profile.name).toBe('custom');
  });

  it('says where the EHR keeps a slot service type: either unless the profile names one', async () => {
    expect((await loadMappingProfile(dir, { defaultRegion: 'US' })).slotServiceTypeSearch).toBe('either');
    await edit('slot.yaml', 'serviceTypeSearch: either', 'serviceTypeSearch: schedule');
    expect((await loadMappingProfile(dir, { defaultRegion: 'US' })).slotServiceTypeSearch).toBe('schedule');
    await edit('slot.yaml', 'serviceTypeSearch: schedule', 'serviceTypeSearch: slots');
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: join(dir, 'slot.yaml'),
        field: 'serviceTypeSearch',
        message: 'must be one of slot, schedule, either',
      },
    ]);
  });

  it('stops at start-up when a conversion would not read back as the new mode', async () => {
    // The mode written where the read rule does not look: the change would be lost on the next read.
    await edit(
      'appointment.yaml',
      '"url": "https://continuum.example/fhir/StructureDefinition/appointment-mode",\n          "valueCode"',
      '"url": "https://elsewhere.example/mode",\n          "valueCode"',
    );
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: join(dir, 'appointment.yaml'),
        field: 'convert.template',
        message: expect.stringContaining('reads back as mode in-person, not video'),
      },
    ]);
  });

  it('stops at start-up when a hold would not read back as waitlist', async () => {
    await edit('appointment.yaml', '{ "status": "waitlist" }', '{ "status": "booked" }');
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: join(dir, 'appointment.yaml'),
        field: 'hold.template',
        message: expect.stringContaining('reads back as booked, not waitlist'),
      },
    ]);
  });

  it('reports a FHIRPath syntax error with file and field', async () => {
    await edit('patient.yaml', 'birthDate: birthDate', 'birthDate: birthDate.where(');
    const { error, problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: patientFile(),
        field: 'read.birthDate',
        message: expect.stringMatching(/^FHIRPath does not compile: /),
      },
    ]);
    expect(error.message).toContain(`${patientFile()}: read.birthDate: FHIRPath does not compile: `);
  });

  it('reports an unknown FHIRPath function at load time, not when a patient is read', async () => {
    await edit('patient.yaml', 'gender: gender', 'gender: gender.noSuchFunction()');
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      { file: patientFile(), field: 'read.gender', message: expect.stringContaining('noSuchFunction') },
    ]);
  });

  it('reports an unknown %variable at load time', async () => {
    await edit('patient.yaml', "replaces: system = 'phone'", 'replaces: system = %phoneSystem');
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: patientFile(),
        field: 'write.phones.replaces',
        message: expect.stringContaining('phoneSystem'),
      },
    ]);
  });

  it('reports a JSONata syntax error with file and field', async () => {
    await edit('patient.yaml', '"system": "email",', '"system": "email" "oops",');
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: patientFile(),
        field: 'write.email.template',
        message: expect.stringMatching(/^JSONata does not compile: /),
      },
    ]);
  });

  it('reports a rule of an `existing` list that does not compile, with its place in the list', async () => {
    await edit('patient.yaml', '      - period.end.exists().not()\n', '      - period.end.exists(.not()\n');
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      expect.objectContaining({ file: patientFile(), field: 'write.phones.existing[1]' }),
    ]);
  });

  it('reports an unknown template variable', async () => {
    await edit(
      'patient.yaml',
      '$merge([$existing, { "value": $value }])',
      '$merge([$exisitng, { "value": $value }])',
    );
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      {
        file: patientFile(),
        field: 'write.phones.template',
        message: expect.stringContaining('unknown variable $exisitng'),
      },
    ]);
  });

  it('reports a template that does not produce an object', async () => {
    await edit(
      'patient.yaml',
      /template: \|\n {6}\{\n {8}"language"[\s\S]*?\n\n# create/,
      'template: $value\n\n# create',
    );
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      expect.objectContaining({
        file: patientFile(),
        field: 'write.preferredLanguage.template',
        message: expect.stringContaining('must produce an object'),
      }),
    ]);
  });

  it('reports a missing field', async () => {
    await edit('patient.yaml', /\n {2}gender: gender\n/, '\n');
    const { problems } = await problemsOf();
    expect(problems).toEqual([{ file: patientFile(), field: 'read.gender', message: 'is required' }]);
  });

  it('reports a field of the wrong type', async () => {
    await edit('patient.yaml', 'whenNoneReplaced: replaceFirst', 'whenNoneReplaced: [1]');
    await edit('profile.yaml', 'pinRegion: false', 'pinRegion: "no"');
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      expect.objectContaining({ file: profileFile(), field: 'phone.pinRegion' }),
      expect.objectContaining({ file: patientFile(), field: 'write.address.whenNoneReplaced' }),
    ]);
  });

  it('reports an unknown setting and an element that is not a Patient list', async () => {
    await edit('patient.yaml', 'element: address', 'element: gender');
    await edit('patient.yaml', '  birthDate: birthDate', '  birthdate: birthDate\n  birthDate: birthDate');
    const { problems } = await problemsOf();
    expect(problems).toEqual([
      { file: patientFile(), field: 'read.birthdate', message: 'is not a known setting' },
    ]);
    await edit('patient.yaml', '  birthdate: birthDate\n', '');
    const second = await problemsOf();
    expect(second.problems).toEqual([
      {
        file: patientFile(),
        field: 'write.address.element',
        message: expect.stringContaining('not a repeating element'),
      },
    ]);
  });

  it('reports several problems at once', async () => {
    await edit('patient.yaml', 'birthDate: birthDate', 'birthDate: birthDate.where(');
    await edit('patient.yaml', '"system": "email",', '"system": "email" "oops",');
    const { problems } = await problemsOf();
    expect(problems.map((problem) => problem.field)).toEqual(['read.birthDate', 'write.email.template']);
  });

  it('reports YAML that does not parse and missing files', async () => {
    await writeFile(join(dir, 'profile.yaml'), 'formatVersion: 1\n  bad: indentation\n: :');
    await rm(join(dir, 'patient.yaml'));
    const { problems } = await problemsOf();
    expect(problems[0]).toEqual({
      file: profileFile(),
      field: '',
      message: expect.stringMatching(/^not valid YAML: .* at line 1, column \d+$/),
    });
    expect(problems.at(-1)).toEqual({ file: patientFile(), field: '', message: 'file not found' });
  });

  it('reports a profile folder that does not exist', async () => {
    await expect(loadMappingProfile(join(root, 'missing'), { defaultRegion: 'US' })).rejects.toThrow(
      MappingProfileError,
    );
  });

  describe('phone region', () => {
    const ukPatient = {
      resourceType: 'Patient' as const,
      id: 'uk',
      telecom: [{ system: 'phone' as const, value: '020 7946 0958' }],
    };

    it('comes from the caller when the profile does not pin one', async () => {
      const profile = await loadMappingProfile(dir, { defaultRegion: 'GB' });
      expect(profile.readPatient(ukPatient).phones).toEqual(['+442079460958']);
      expect(profile.phoneRegion).toBe('GB');
    });

    it('comes from the profile when the caller gives none', async () => {
      await edit('profile.yaml', 'defaultRegion: US', 'defaultRegion: GB');
      const profile = await loadMappingProfile(dir);
      expect(profile.readPatient(ukPatient).phones).toEqual(['+442079460958']);
      expect(profile.phoneRegion).toBe('GB');
    });

    it('comes from the profile, whatever the caller says, when pinned', async () => {
      await edit('profile.yaml', 'defaultRegion: US', 'defaultRegion: GB');
      await edit('profile.yaml', 'pinRegion: false', 'pinRegion: true');
      const profile = await loadMappingProfile(dir, { defaultRegion: 'US' });
      expect(profile.readPatient(ukPatient).phones).toEqual(['+442079460958']);
      expect(profile.phoneRegion).toBe('GB');
    });

    it('must be a region libphonenumber knows', async () => {
      await edit('profile.yaml', 'defaultRegion: US', 'defaultRegion: XX');
      const { problems } = await problemsOf();
      expect(problems).toEqual([
        expect.objectContaining({ file: profileFile(), field: 'phone.defaultRegion' }),
      ]);
    });
  });

  describe('hash', () => {
    it('is the same for the same files, wherever they are', async () => {
      const copy = await loadMappingProfile(dir, { defaultRegion: 'US' });
      const original = await loadMappingProfile(DEFAULT_DIR, { defaultRegion: 'US' });
      expect(copy.hash).toBe(original.hash);
    });

    it('changes when any file changes, fixtures included', async () => {
      const before = (await loadMappingProfile(dir, { defaultRegion: 'US' })).hash;
      await edit('patient.yaml', 'gender: gender', 'gender: gender ');
      const afterMapping = (await loadMappingProfile(dir, { defaultRegion: 'US' })).hash;
      expect(afterMapping).not.toBe(before);
      await edit('fixtures/read/plain.json', '"pat-1001"', '"pat-1001" ');
      const afterFixture = (await loadMappingProfile(dir, { defaultRegion: 'US' })).hash;
      expect(afterFixture).not.toBe(afterMapping);
    });

    it('changes when a file is added', async () => {
      const before = (await loadMappingProfile(dir, { defaultRegion: 'US' })).hash;
      await writeFile(join(dir, 'notes.md'), 'a note');
      expect((await loadMappingProfile(dir, { defaultRegion: 'US' })).hash).not.toBe(before);
    });
  });

  describe('fixtures', () => {
    it('report what differs when the mapping and a fixture disagree', async () => {
      await edit('patient.yaml', 'gender: gender', `gender: "'other'"`);
      const profile = await loadMappingProfile(dir, { defaultRegion: 'US' });
      const failed = (await runProfileFixtures(dir, profile)).filter((result) => !result.passed);
      expect(failed.map((result) => result.name)).toEqual([
        'read/language-and-email',
        'read/mr-typed-other-authority',
        'read/mrn-by-type-work-address',
        'read/no-name-no-address',
        'read/odd-phones',
        'read/plain',
      ]);
      expect(failed.find((result) => result.name === 'read/plain')?.diff).toBe(
        'gender: expected "female", got "other"',
      );
    });

    it('report a fixture that cannot be read instead of throwing', async () => {
      await writeFile(join(dir, 'fixtures', 'write', 'broken.json'), '{ not json');
      await writeFile(
        join(dir, 'fixtures', 'read', 'incomplete.json'),
        '{ "input": { "resourceType": "Patient" } }',
      );
      const profile = await loadMappingProfile(dir, { defaultRegion: 'US' });
      const results = await runProfileFixtures(dir, profile);
      expect(results.find((result) => result.name === 'write/broken')).toEqual({
        name: 'write/broken',
        path: 'fixtures/write/broken.json',
        passed: false,
        diff: expect.stringMatching(/^cannot read the fixture/),
      });
      expect(results.find((result) => result.name === 'read/incomplete')).toEqual({
        name: 'read/incomplete',
        path: 'fixtures/read/incomplete.json',
        passed: false,
        diff: expect.stringMatching(/^the fixture is not valid: expected/),
      });
    });
  });
});
