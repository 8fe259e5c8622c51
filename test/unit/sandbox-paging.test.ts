import { pageLinks, pageUrl } from '../../adapters/ehr/sandbox/paging';

describe('sandbox paging links', () => {
  const base = 'http://host:8080/sandbox/fhir/Patient';
  const params = [
    ['phone', '+16175550100,617-555-0101'],
    ['date', 'ge2026-03-01'],
    ['date', 'lt2026-03-08'],
    ['_count', '10'],
  ] as const;

  it('keeps the client parameters, readable, and replaces _count/_offset', () => {
    expect(pageUrl(base, params, 10, 20)).toBe(
      `${base}?phone=%2B16175550100,617-555-0101&date=ge2026-03-01&date=lt2026-03-08&_count=10&_offset=20`,
    );
    expect(pageUrl(base, [['identifier', 'http://x.example/mrn|MRN1']], 5, 0)).toBe(
      `${base}?identifier=http://x.example/mrn|MRN1&_count=5&_offset=0`,
    );
  });

  it('links next only while results remain, previous only after the first page', () => {
    const relations = (offset: number, total: number): string[] =>
      pageLinks(base, params, { count: 10, offset, total }).map((l) => l.relation);
    expect(relations(0, 25)).toEqual(['self', 'first', 'next']);
    expect(relations(10, 25)).toEqual(['self', 'first', 'previous', 'next']);
    expect(relations(20, 25)).toEqual(['self', 'first', 'previous']);
    expect(relations(0, 10)).toEqual(['self', 'first']);
    expect(
      pageLinks(base, params, { count: 10, offset: 10, total: 25 }).find((l) => l.relation === 'next')?.url,
    ).toContain('_offset=20');
  });
});
