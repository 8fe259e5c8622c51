import type { Patient } from '../domain/fhir';

/**
 * A Patient using every element the default mapping touches. Expressions and templates are tried on it
 * (and on an empty Patient) when a profile loads: fhirpath.js only reports unknown functions and
 * variables when it runs them, and such mistakes belong to start-up, not to a caller's request.
 */
export const SAMPLE_PATIENT: Patient = deepFreeze({
  resourceType: 'Patient',
  id: 'sample',
  meta: { versionId: '1', lastUpdated: '2024-01-01T00:00:00Z' },
  identifier: [
    {
      use: 'usual',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
      system: 'urn:example:mrn',
      value: 'SAMPLE1',
    },
  ],
  name: [
    { use: 'official', family: 'Sample', given: ['Ada', 'B'], text: 'Ada B Sample' },
    { use: 'nickname', given: ['Addie'] },
  ],
  telecom: [
    { system: 'phone', value: '(617) 555-0100', use: 'home', rank: 1 },
    { system: 'phone', value: '+1 617 555 0101', use: 'mobile' },
    { system: 'email', value: 'ada@example.org', use: 'home' },
  ],
  gender: 'female',
  birthDate: '1970-01-01',
  address: [
    {
      use: 'home',
      type: 'both',
      line: ['1 Main St', 'Apt 2'],
      city: 'Boston',
      state: 'MA',
      postalCode: '02110',
      country: 'US',
    },
    { use: 'work', line: ['2 Work Rd'], city: 'Cambridge', state: 'MA', postalCode: '02139', country: 'US' },
  ],
  communication: [
    { language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }], text: 'English' }, preferred: true },
    { language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es' }] } },
  ],
  extension: [{ url: 'urn:example:extension', valueString: 'sample' }],
});

export const EMPTY_PATIENT: Patient = deepFreeze({ resourceType: 'Patient' });

/** A value of each changeable field, to try write templates on. */
export const SAMPLE_CHANGE_VALUES = {
  phones: '+16175550102',
  email: 'ada.sample@example.org',
  address: { line: ['3 New St'], city: 'Boston', state: 'MA', postalCode: '02110', country: 'US' },
  preferredLanguage: 'es',
} as const;

/** Samples are shared by every profile loaded: frozen, so a mapping bug cannot leak from one to another. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
