import { FLAT_MAX_BYTES, flatten } from '../../src/http/flat-shape';

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

describe('flatten', () => {
  it('joins nested keys with underscores and numbers scalar lists from 1, with a count', () => {
    expect(flatten({ name: { given: ['Ann', 'Marie'], family: 'Lee' } })).toEqual({
      name_given_count: '2',
      name_given1: 'Ann',
      name_given2: 'Marie',
      name_family: 'Lee',
    });
  });

  it('numbers lists of objects with the index glued to the list key, plus a count', () => {
    expect(flatten({ matches: [{ id: 'p1' }, { id: 'p2', phones: ['+13515550153'] }] })).toEqual({
      matches_count: '2',
      matches1_id: 'p1',
      matches2_id: 'p2',
      matches2_phones_count: '1',
      matches2_phones1: '+13515550153',
    });
  });

  it('gives IVR-style keys such as slot1_start', () => {
    const flat = flatten({ slots: [{ id: 's1', start: '2026-01-05T09:00:00Z' }] });
    expect(flat).toMatchObject({ slots_count: '1', slots1_id: 's1', slots1_start: '2026-01-05T09:00:00Z' });
  });

  it('counts an empty list as 0 and emits no items', () => {
    expect(flatten({ found: false, matches: [] })).toEqual({ found: 'false', matches_count: '0' });
  });

  it('separates the index with an underscore when the key ends in a digit, and in lists of lists', () => {
    expect(flatten({ line2: ['a', 'b'], grid: [['x', 'y'], ['z']] })).toEqual({
      line2_count: '2',
      line2_1: 'a',
      line2_2: 'b',
      grid_count: '2',
      grid1_count: '2',
      grid1_1: 'x',
      grid1_2: 'y',
      grid2_count: '1',
      grid2_1: 'z',
    });
  });

  it('turns booleans into "true"/"false" and numbers into their decimal string', () => {
    expect(flatten({ found: true, verified: false, attempts: 3, ratio: 0.25, negative: -12 })).toEqual({
      found: 'true',
      verified: 'false',
      attempts: '3',
      ratio: '0.25',
      negative: '-12',
    });
  });

  it('omits null, undefined and what JSON cannot carry, and renumbers lists without gaps', () => {
    expect(
      flatten({
        email: null,
        address: undefined,
        score: Number.NaN,
        fn: () => 1,
        lastError: null,
        phones: ['+1', null, '+2', undefined],
      }),
    ).toEqual({ phones_count: '2', phones1: '+1', phones2: '+2' });
  });

  it('applies toJSON as JSON would (dates become ISO strings)', () => {
    expect(flatten({ at: new Date('2026-01-05T09:00:00.000Z') })).toEqual({ at: '2026-01-05T09:00:00.000Z' });
  });

  it('leaves an already flat object of strings unchanged', () => {
    const flat = { found: 'true', phone: '+13515550153', matches1_id: 'pat-0001', matches_count: '1' };
    expect(flatten(flat)).toEqual(flat);
  });

  it('reads a root list as items and a root scalar as value', () => {
    expect(flatten([{ id: 'a' }])).toEqual({ items_count: '1', items1_id: 'a' });
    expect(flatten(42)).toEqual({ value: '42' });
    expect(flatten(null)).toEqual({});
  });

  describe('colliding keys', () => {
    it('keeps the first data key in document order and suffixes later ones with _2, _3', () => {
      expect(flatten({ a: { b_c: 'first' }, a_b: { c: 'second' }, a_b_c: 'third' })).toEqual({
        a_b_c: 'first',
        a_b_c_2: 'second',
        a_b_c_3: 'third',
      });
    });

    it('suffixes again when a suffixed key is itself taken later', () => {
      expect(flatten({ a_b: '1', a: { b: '2' }, a_b_2: '3' })).toEqual({
        a_b: '1',
        a_b_2: '2',
        a_b_2_2: '3',
      });
    });

    it('never overwrites a list item with a data key that looks like one', () => {
      expect(flatten({ phones1: 'data', phones: ['+1', '+2'] })).toEqual({
        phones1: 'data',
        phones_count: '2',
        phones1_2: '+1',
        phones2: '+2',
      });
    });

    it('gives generated keys (counts, totals, truncated) precedence over data keys', () => {
      expect(flatten({ matches_count: 99, matches: [{ id: 'p1' }], truncated: false })).toEqual({
        matches_count_2: '99',
        matches_count: '1',
        matches1_id: 'p1',
        truncated_2: 'false',
      });
    });

    it('resolves the same input to the same keys every time', () => {
      const input = { a: { b: ['1'] }, a_b: ['2'], a_b1: '3' };
      const once = flatten(input);
      expect(flatten(input)).toEqual(once);
      expect(Object.keys(once)).toHaveLength(new Set(Object.keys(once)).size);
      expect(Object.values(once).sort()).toEqual(['1', '1', '1', '2', '3'].sort());
    });
  });

  describe('the 32 KB limit', () => {
    const match = (i: number) => ({
      id: `pat-${String(i).padStart(4, '0')}`,
      name: { given: ['Ann', 'Marie'], family: 'Lee'.repeat(60) },
      phones: ['+13515550153', '+16175550199'],
      address: { line: ['1 Main Street'.repeat(15)], city: 'Boston', postalCode: '02110' },
    });
    const big = {
      found: true,
      phone: '+13515550153',
      matches: Array.from({ length: 57 }, (_, i) => match(i + 1)),
    };

    it('is not touched when the body fits', () => {
      const flat = flatten({ found: true, matches: [match(1), match(2)] });
      expect(flat.truncated).toBeUndefined();
      expect(flat.matches_total).toBeUndefined();
      expect(flat.matches_count).toBe('2');
    });

    it("takes a read's own truncated: true as the generated truncated, not as truncated_2", () => {
      expect(
        flatten({ appointments: [{ id: 'a1' }], truncated: true, truncatedReason: 'page-limit' }),
      ).toEqual({
        truncated: 'true',
        appointments_count: '1',
        appointments1_id: 'a1',
        truncatedReason: 'page-limit',
      });
    });

    it('drops whole trailing items until the JSON is under 32 KB, with truncated, counts and total', () => {
      expect(jsonBytes(flatten(big, { maxBytes: Number.MAX_SAFE_INTEGER }))).toBeGreaterThan(FLAT_MAX_BYTES);
      const flat = flatten(big);
      expect(jsonBytes(flat)).toBeLessThan(FLAT_MAX_BYTES);
      expect(flat.truncated).toBe('true');
      expect(flat.matches_total).toBe('57');
      const kept = Number(flat.matches_count);
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(57);
      // The items left are 1..kept, each complete; nothing of the dropped ones remains.
      for (let i = 1; i <= kept; i++) {
        expect(flat[`matches${i}_id`]).toBe(match(i).id);
        expect(flat[`matches${i}_phones_count`]).toBe('2');
        expect(flat[`matches${i}_phones2`]).toBe('+16175550199');
        expect(flat[`matches${i}_address_city`]).toBe('Boston');
      }
      expect(Object.keys(flat).filter((k) => k.startsWith(`matches${kept + 1}_`))).toEqual([]);
      expect(flat.found).toBe('true');
      expect(flat.phone).toBe('+13515550153');
    });

    it('drops as few items as it must', () => {
      const flat = flatten(big);
      const kept = Number(flat.matches_count);
      const oneMore = { ...big, matches: big.matches.slice(0, kept + 1) };
      const withOneMore = flatten(oneMore, { maxBytes: Number.MAX_SAFE_INTEGER });
      // The body had it dropped one item fewer: that item back, with the truncation keys.
      expect(jsonBytes({ ...withOneMore, truncated: 'true', matches_total: '57' })).toBeGreaterThanOrEqual(
        FLAT_MAX_BYTES,
      );
    });

    it('trims the last list first and keeps its count consistent', () => {
      const flat = flatten(
        { first: ['a'.repeat(100), 'b'.repeat(100)], second: ['c'.repeat(100), 'd'.repeat(100)] },
        { maxBytes: 400 },
      );
      expect(jsonBytes(flat)).toBeLessThan(400);
      expect(flat).toEqual({
        truncated: 'true',
        first_count: '2',
        first1: 'a'.repeat(100),
        first2: 'b'.repeat(100),
        second_count: '0',
        second_total: '2',
      });
    });

    it('drops trailing data keys as a last resort when no list can make it fit', () => {
      const flat = flatten({ id: 'p1', note: 'x'.repeat(40_000) });
      expect(jsonBytes(flat)).toBeLessThan(FLAT_MAX_BYTES);
      expect(flat).toEqual({ truncated: 'true', id: 'p1' });
    });
  });
});
