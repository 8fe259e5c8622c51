/**
 * The sandbox seed generator, without HTTP: same options give the same data, and every generated resource
 * passes the validation a client write would face (the sandbox skips it when seeding, for start-up time).
 */
import type { Resource } from '@medplum/fhirtypes';
import { buildSeedData } from '../../adapters/ehr/sandbox';
import { ensureFhirSchemaIndexed } from '../../adapters/ehr/sandbox/fhir-schema';
import { RequiredCodes } from '../../adapters/ehr/sandbox/required-codes';
import { assertValidResource, localReferences } from '../../adapters/ehr/sandbox/resource-validator';

const TODAY = new Date('2026-03-02T12:00:00Z');

describe('buildSeedData', () => {
  let data: Resource[];
  beforeAll(() => {
    ensureFhirSchemaIndexed();
    data = buildSeedData({ today: TODAY, seed: 42 });
  });

  it('is deterministic for a seed and a day, and differs with the seed or the day', () => {
    expect(buildSeedData({ today: TODAY, seed: 42 })).toEqual(data);
    expect(buildSeedData({ today: TODAY, seed: 43 })).not.toEqual(data);
    const nextWeek = buildSeedData({ today: new Date(TODAY.getTime() + 7 * 86_400_000), seed: 42 });
    expect(nextWeek.find((r) => r.resourceType === 'Slot')).not.toEqual(
      data.find((r) => r.resourceType === 'Slot'),
    );
  });

  it('keeps every birth date from one day to the next (callers prove who they are with it)', () => {
    const birthDates = (today: Date) =>
      buildSeedData({ today, seed: 42, patientCount: 60 })
        .filter((r) => r.resourceType === 'Patient')
        .map((p) => [p.id, (p as { birthDate?: string }).birthDate]);
    const thisYear = birthDates(new Date('2026-12-02T12:00:00Z'));
    expect(birthDates(new Date('2027-07-15T12:00:00Z'))).toEqual(thisYear);
    expect(birthDates(new Date('2031-01-05T12:00:00Z'))).toEqual(thisYear);
  });

  it('has no one born after the day the data is built for', () => {
    const future = data.filter(
      (r) =>
        r.resourceType === 'Patient' &&
        ((r as { birthDate?: string }).birthDate ?? '') >= TODAY.toISOString().slice(0, 10),
    );
    expect(future).toEqual([]);
  });

  it('gives every resource a unique, readable id and version metadata', () => {
    const keys = data.map((r) => `${r.resourceType}/${r.id ?? ''}`);
    expect(new Set(keys).size).toBe(data.length);
    expect(keys).toEqual(
      expect.arrayContaining(['Organization/org-0001', 'Location/loc-0004', 'Practitioner/pr-0012']),
    );
    const odd = data.filter(
      (r) =>
        !/^(org|loc|pr|sch|pat|slot|appt|enc)-\d{4,6}$/.test(r.id ?? '') ||
        r.meta?.versionId !== '1' ||
        r.meta.lastUpdated !== TODAY.toISOString(),
    );
    expect(odd).toEqual([]);
  });

  it('produces only valid R4 resources (structure and required codes)', () => {
    const codes = new RequiredCodes();
    // Slots all share one shape: every tenth is enough, and keeps this test quick.
    const sample = data.filter((r, index) => r.resourceType !== 'Slot' || index % 10 === 0);
    const invalid = sample.flatMap((resource) => {
      try {
        assertValidResource(resource, codes);
        return [];
      } catch (err) {
        return [{ ref: `${resource.resourceType}/${resource.id ?? ''}`, err }];
      }
    });
    expect(invalid).toEqual([]);
  });

  it('only references resources that come earlier in the list', () => {
    const seen = new Set<string>();
    const dangling: string[] = [];
    for (const resource of data) {
      for (const ref of localReferences(resource)) {
        if (!seen.has(`${ref.resourceType}/${ref.id}`))
          dangling.push(`${ref.expression} -> ${ref.resourceType}/${ref.id}`);
      }
      seen.add(`${resource.resourceType}/${resource.id ?? ''}`);
    }
    expect(dangling).toEqual([]);
  });

  it('honours patientCount and refuses nonsense options', () => {
    expect(
      buildSeedData({ today: TODAY, patientCount: 25 }).filter((r) => r.resourceType === 'Patient'),
    ).toHaveLength(25);
    expect(() => buildSeedData({ patientCount: 0 })).toThrow(RangeError);
    expect(() => buildSeedData({ patientCount: Number.NaN })).toThrow(RangeError);
    expect(() => buildSeedData({ seed: 1.5 })).toThrow(RangeError);
    expect(() => buildSeedData({ today: new Date('nope') })).toThrow(RangeError);
  });
});
