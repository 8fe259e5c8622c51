import { OperationOutcomeError, parseSearchRequest } from '@medplum/core';
import { ensureFhirSchemaIndexed } from '../../adapters/ehr/sandbox/fhir-schema';
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  prepareSearchRequest,
} from '../../adapters/ehr/sandbox/search-rules';

describe('prepareSearchRequest', () => {
  beforeAll(() => {
    ensureFhirSchemaIndexed();
  });

  const prepare = (url: string): ReturnType<typeof prepareSearchRequest> =>
    prepareSearchRequest(parseSearchRequest(url));

  it('applies the default page size and caps large ones', () => {
    expect(prepare('Patient?family=x')).toMatchObject({ count: DEFAULT_PAGE_SIZE, offset: 0 });
    expect(prepare('Patient?_count=5000').count).toBe(MAX_PAGE_SIZE);
  });

  it('turns a bare id into a reference when the parameter has one target type', () => {
    expect(prepare('Encounter?patient=pat-0001,Patient/pat-0002').filters?.[0]?.value).toBe(
      'Patient/pat-0001,Patient/pat-0002',
    );
    expect(prepare('Schedule?actor=pr-0001').filters?.[0]?.value).toBe('pr-0001');
  });

  it('puts cheap filters before date ranges', () => {
    expect(prepare('Slot?start=ge2026-03-01&status=free').filters?.map((f) => f.code)).toEqual([
      'status',
      'start',
    ]);
  });

  it.each([
    'Patient?favourite=blue',
    'Patient?general-practitioner.name=x',
    'Patient?_sort=colour',
    'Patient?_count=-1',
  ])('refuses %s with a 400 OperationOutcome', (url) => {
    expect(() => prepare(url)).toThrow(OperationOutcomeError);
  });
});
