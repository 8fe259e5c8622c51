import { z } from 'zod';
import { byRegion } from '../../src/http/schemas/by-region';
import { zodToValidationError } from '../../src/http/validation';
import { phoneSchema, type CountryCode } from '../../src/phone';

function refusal(region: CountryCode, input: unknown): readonly unknown[] {
  const result = z.object({ phone: phoneSchema(region) }).safeParse({ phone: input });
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused in ${region}`);
  return (zodToValidationError(result.error, 'is not a field here').extra?.errors ?? []) as unknown[];
}

describe('phoneSchema', () => {
  it.each([
    '(617) 555-0123',
    '617.555.0123',
    '617 555 0123',
    '1-617-555-0123',
    '+1 617 555 0123',
    '  +16175550123 ',
    'tel:+1-617-555-0123',
    '617-555-0123 ext. 12',
  ])('gives %j as E.164', (raw) => {
    expect(phoneSchema('US').parse(raw)).toBe('+16175550123');
  });

  it('reads a number without a country code in the region it is given', () => {
    expect(phoneSchema('GB').parse('020 7946 0958')).toBe('+442079460958');
    expect(phoneSchema('FR').parse('01 23 45 67 89')).toBe('+33123456789');
    expect(refusal('US', '020 7946 0958')).toEqual([
      { field: 'phone', message: 'is not a valid phone number' },
    ]);
    expect(refusal('GB', '617-555-0123')).toEqual([
      { field: 'phone', message: 'is not a valid phone number' },
    ]);
  });

  it('takes a number with its country code in any region', () => {
    expect(phoneSchema('GB').parse('+1 617 555 0123')).toBe('+16175550123');
    expect(phoneSchema('US').parse('+44 20 7946 0958')).toBe('+442079460958');
  });

  it.each(['', '   ', 'not a number', '555-12', '123-456-7890', '+999 1234 5678', '617-555-0123-4567-89'])(
    'refuses %j without echoing it',
    (raw) => {
      const errors = refusal('US', raw);
      expect(errors).toEqual([{ field: 'phone', message: 'is not a valid phone number' }]);
      if (raw.trim() !== '') expect(JSON.stringify(errors)).not.toContain(raw.trim());
    },
  );

  it('says what is wrong with a value that is not text, or missing', () => {
    expect(refusal('US', 6175550123)).toEqual([{ field: 'phone', message: 'must be a string' }]);
    expect(refusal('US', ['617-555-0123'])).toEqual([{ field: 'phone', message: 'must be a string' }]);
    expect(refusal('US', undefined)).toEqual([{ field: 'phone', message: 'is required' }]);
  });
});

describe('byRegion', () => {
  it('builds a schema once per region and gives the same one again', () => {
    const built: CountryCode[] = [];
    const schemaFor = byRegion((region) => {
      built.push(region);
      return phoneSchema(region);
    });
    const us = schemaFor('US');
    expect(schemaFor('US')).toBe(us);
    expect(schemaFor('GB')).not.toBe(us);
    expect(schemaFor('GB').parse('020 7946 0958')).toBe('+442079460958');
    expect(built).toEqual(['US', 'GB']);
  });
});
