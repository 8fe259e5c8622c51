import {
  createPhoneSearchValue,
  createPhoneSearchValues,
  escapeFhirSearchValue,
  fhirSearchAlternatives,
  phoneSearchVariants,
} from '../../src/phone';

describe('phoneSearchVariants', () => {
  it('offers the common ways of writing a US number, E.164 first, without duplicates', () => {
    const variants = phoneSearchVariants('+16175551234', 'US');
    expect(variants[0]).toBe('+16175551234');
    expect(variants).toEqual(
      expect.arrayContaining([
        '+16175551234',
        '16175551234',
        '6175551234',
        '617-555-1234',
        '(617) 555-1234',
        '(617)555-1234',
        '617.555.1234',
        '617 555 1234',
        '+1 617-555-1234',
        '+1 (617) 555-1234',
        '1-617-555-1234',
        '+1-617-555-1234',
        '+1 617 555 1234',
      ]),
    );
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('is stable', () => {
    expect(phoneSearchVariants('+16175551234', 'US')).toEqual(phoneSearchVariants('+16175551234', 'US'));
  });

  it('uses the NANP formats for other +1 countries', () => {
    expect(phoneSearchVariants('+14165551234', 'CA')).toEqual(
      expect.arrayContaining(['+14165551234', '(416) 555-1234', '416-555-1234']),
    );
  });

  it('uses E.164, national and international formats elsewhere', () => {
    const variants = phoneSearchVariants('+442079460958', 'GB');
    expect(variants).toEqual(expect.arrayContaining(['+442079460958', '+44 20 7946 0958', '020 7946 0958']));
    expect(variants[0]).toBe('+442079460958');
    expect(variants).not.toContain('(207) 946-0958');
  });

  it('adds the number as dialled from the default region when it is foreign', () => {
    expect(phoneSearchVariants('+442079460958', 'US')).toContain('011 44 20 7946 0958');
  });

  it('returns nothing for a number that is not valid', () => {
    expect(phoneSearchVariants('+11234567890', 'US')).toEqual([]);
    expect(phoneSearchVariants('garbage', 'US')).toEqual([]);
  });

  it('produces values that need no escaping', () => {
    const variants = phoneSearchVariants('+16175551234', 'US');
    expect(variants.map(escapeFhirSearchValue)).toEqual(variants);
  });
});

describe('FHIR search escaping', () => {
  it('escapes the characters FHIR search gives a meaning to', () => {
    expect(escapeFhirSearchValue('a,b|c$d\\e')).toBe('a\\,b\\|c\\$d\\\\e');
  });

  it('joins alternatives with commas, escaping commas inside them', () => {
    expect(fhirSearchAlternatives(['617-555-1234', 'x,y'])).toBe('617-555-1234,x\\,y');
  });
});

describe('createPhoneSearchValue', () => {
  it('gives the search value of every stored format, the same on a repeat', () => {
    const searchValue = createPhoneSearchValue('US');
    const first = searchValue('+13515550153');
    expect(first).toBe(fhirSearchAlternatives(phoneSearchVariants('+13515550153', 'US')));
    expect(first).toContain('1-351-555-0153');
    expect(searchValue('+13515550153')).toBe(first);
    expect(searchValue('+16175550100')).not.toBe(first);
  });
});

describe('createPhoneSearchValues', () => {
  it('gives each stored format as a search value of its own, the combined value being them joined', () => {
    const values = createPhoneSearchValues('US')('+13515550153');
    expect(values).toEqual(phoneSearchVariants('+13515550153', 'US').map(escapeFhirSearchValue));
    expect(values).toContain('(351) 555-0153');
    expect(values.join(',')).toBe(createPhoneSearchValue('US')('+13515550153'));
  });
});
