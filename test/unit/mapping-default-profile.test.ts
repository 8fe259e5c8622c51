import { join } from 'node:path';
import type { Patient } from '../../src/domain/fhir';
import { ContinuumError } from '../../src/domain/errors';
import { loadMappingProfile, runProfileFixtures } from '../../src/mapping';
import type { MappingProfile } from '../../src/mapping';

const DEFAULT_DIR = join(__dirname, '..', '..', 'mappings', 'default');

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

function member(resource: Patient, key: string): unknown {
  return (resource as unknown as Record<string, unknown>)[key];
}

const PATIENT: Patient = {
  resourceType: 'Patient',
  id: 'p1',
  meta: { versionId: '2' },
  identifier: [
    {
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
      system: 'http://sandbox.continuum.example/mrn',
      value: 'MRN1234567',
    },
  ],
  name: [{ use: 'official', family: 'Rivera', given: ['Maria'] }],
  telecom: [
    { system: 'phone', value: '(617) 555-1234', use: 'mobile' },
    { system: 'email', value: 'maria@example.org' },
  ],
  birthDate: '1984-07-12',
  _birthDate: { extension: [{ url: 'urn:example:x', valueString: 'kept' }] },
  address: [
    { use: 'home', line: ['12 Harbor St'], city: 'Boston', state: 'MA', postalCode: '02110', country: 'US' },
  ],
  communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }] }, preferred: true }],
  extension: [{ url: 'urn:example:ext', valueBoolean: true }],
} as Patient;

describe('the default mapping profile', () => {
  let profile: MappingProfile;

  beforeAll(async () => {
    profile = await loadMappingProfile(DEFAULT_DIR, { defaultRegion: 'US' });
  });

  it('passes all of its fixtures', async () => {
    const results = await runProfileFixtures(DEFAULT_DIR, profile);
    expect(results.filter((result) => result.name.startsWith('read/')).length).toBeGreaterThanOrEqual(4);
    expect(results.filter((result) => result.name.startsWith('write/')).length).toBeGreaterThanOrEqual(4);
    expect(results.filter((result) => !result.passed)).toEqual([]);
  });

  it('is named after its folder and hashed', () => {
    expect(profile.name).toBe('default');
    expect(profile.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads the sandbox MRN and the model fields', () => {
    expect(profile.readPatient(PATIENT)).toEqual({
      id: 'p1',
      version: '2',
      mrn: 'MRN1234567',
      name: { given: ['Maria'], family: 'Rivera' },
      birthDate: '1984-07-12',
      gender: undefined,
      phones: ['+16175551234'],
      email: 'maria@example.org',
      address: { line: ['12 Harbor St'], city: 'Boston', state: 'MA', postalCode: '02110', country: 'US' },
      preferredLanguage: 'en',
    });
  });

  it('reads without touching the resource', () => {
    const frozen = deepFreeze(structuredClone(PATIENT));
    expect(() => profile.readPatient(frozen)).not.toThrow();
  });

  describe('applyPatientChanges', () => {
    it('does not modify its input, even a frozen one, and shares nothing with it', async () => {
      const input = deepFreeze(structuredClone(PATIENT));
      const before = JSON.stringify(input);
      const output = await profile.applyPatientChanges(input, {
        phones: ['+16175551234', '+16175550000'],
        email: null,
        address: { line: ['1 New St'], city: 'Salem', state: 'MA', postalCode: '01970', country: 'US' },
        preferredLanguage: 'es',
      });
      expect(JSON.stringify(input)).toBe(before);
      expect(output).not.toBe(input);
      expect(Object.isFrozen(output)).toBe(false);
      expect(output.name).not.toBe(input.name);
    });

    it('leaves every element the change does not touch byte-identical', async () => {
      const output = await profile.applyPatientChanges(PATIENT, { address: null });
      const touched = profile.touchedElements({ address: null });
      expect(touched).toEqual(['address']);
      const keys = new Set([...Object.keys(PATIENT), ...Object.keys(output)]);
      for (const key of keys) {
        if (touched.includes(key)) continue;
        expect(JSON.stringify(member(output, key))).toBe(JSON.stringify(member(PATIENT, key)));
      }
      expect(output.address).toBeUndefined();
      expect(Object.keys(output)).toEqual(Object.keys(PATIENT).filter((key) => key !== 'address'));
    });

    it('changes nothing for an empty change', async () => {
      expect(JSON.stringify(await profile.applyPatientChanges(PATIENT, {}))).toBe(JSON.stringify(PATIENT));
    });

    it('keeps the use of a number already on file, whatever its stored format', async () => {
      const output = await profile.applyPatientChanges(PATIENT, {
        phones: ['+16175551234', '+16175550000'],
      });
      expect(output.telecom).toEqual([
        { system: 'phone', value: '+16175551234', use: 'mobile' },
        { system: 'phone', value: '+16175550000' },
        { system: 'email', value: 'maria@example.org' },
      ]);
    });

    it('drops duplicate numbers', async () => {
      const output = await profile.applyPatientChanges(PATIENT, {
        phones: ['+16175550000', '+16175550000'],
      });
      expect(output.telecom?.filter((entry) => entry.system === 'phone')).toHaveLength(1);
    });

    it('refuses a number not in E.164, naming the entry, rather than reading it a second time', async () => {
      let error: unknown;
      try {
        await profile.applyPatientChanges(PATIENT, { phones: ['+16175550000', '617-555-1234'] });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ContinuumError);
      expect((error as ContinuumError).code).toBe('VALIDATION');
      expect((error as ContinuumError).detail).toBe('phones[1]: is not an E.164 number');
    });

    it('sets the preferred language as BCP-47', async () => {
      const output = await profile.applyPatientChanges(PATIENT, { preferredLanguage: 'es' });
      expect(output.communication).toEqual([
        { language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es' }] }, preferred: true },
      ]);
    });

    it('is idempotent, so a change the EHR already holds is recognised as such', async () => {
      const changes = {
        phones: ['+16175551234', '+16175550000'],
        email: 'new@example.org',
        address: { line: ['1 New St'], city: 'Salem', state: 'MA', postalCode: '01970', country: 'US' },
        preferredLanguage: 'es',
      };
      const snapshot = JSON.stringify(changes);
      const once = await profile.applyPatientChanges(PATIENT, changes);
      // The change itself is not modified either (template engines like to mark arrays).
      expect(JSON.stringify(changes)).toBe(snapshot);
      expect(JSON.stringify(await profile.applyPatientChanges(once, changes))).toBe(JSON.stringify(once));
    });

    it('round-trips: what is written reads back as the change', async () => {
      const changes = {
        phones: ['+16175550000'],
        email: 'new@example.org',
        address: { line: ['1 New St'], city: 'Salem', state: 'MA', postalCode: '01970', country: 'US' },
        preferredLanguage: 'es',
      };
      const model = profile.readPatient(await profile.applyPatientChanges(PATIENT, changes));
      expect(model).toMatchObject(changes);
    });
  });

  it('names the elements a change touches, once each', () => {
    expect(profile.touchedElements({})).toEqual([]);
    expect(profile.touchedElements({ phones: [], email: null })).toEqual(['telecom']);
    expect(profile.touchedElements({ preferredLanguage: 'en', address: null })).toEqual([
      'address',
      'communication',
    ]);
  });
});
