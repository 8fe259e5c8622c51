import { normalizePhone, type CountryCode } from '../../src/phone';

describe('normalizePhone', () => {
  it.each([
    ['+16175551234', '+16175551234'],
    ['(617) 555-1234', '+16175551234'],
    ['617.555.1234', '+16175551234'],
    ['617 555 1234', '+16175551234'],
    ['1-617-555-1234', '+16175551234'],
    ['16175551234', '+16175551234'],
    ['  +1 (617) 555-1234  ', '+16175551234'],
    ['tel:+1-617-555-1234', '+16175551234'],
    ['tel:+1-617-555-1234;ext=22', '+16175551234'],
    ['617-555-1234 ext. 5', '+16175551234'],
    ['617-555-1234 x5', '+16175551234'],
  ])('reads %j as a US number', (raw, e164) => {
    expect(normalizePhone(raw, 'US')).toBe(e164);
  });

  it.each<[string, CountryCode, string]>([
    ['+44 20 7946 0958', 'US', '+442079460958'],
    ['020 7946 0958', 'GB', '+442079460958'],
    ['+33 1 23 45 67 89', 'US', '+33123456789'],
    ['01 23 45 67 89', 'FR', '+33123456789'],
    ['015123456789', 'DE', '+4915123456789'],
    ['011 44 20 7946 0958', 'US', '+442079460958'],
    ['(416) 555-1234', 'CA', '+14165551234'],
  ])('reads %j (region %s) as %s', (raw, region, e164) => {
    expect(normalizePhone(raw, region)).toBe(e164);
  });

  it('uses the region it is given, not a global one', () => {
    expect(normalizePhone('020 7946 0958', 'GB')).toBe('+442079460958');
    expect(normalizePhone('020 7946 0958', 'US')).toBeUndefined();
  });

  it.each([
    '',
    '   ',
    'not a number',
    '555-1234',
    '123-456-7890',
    '+1 617 555 123',
    '+999 1234 5678',
    '1-800-FLOWERS-NOW-PLEASE',
    'tel:',
  ])('refuses %j', (raw) => {
    expect(normalizePhone(raw, 'US')).toBeUndefined();
  });

  it('checks validity, not just length', () => {
    // Ten digits, so "possible", but no US area code starts with 1.
    expect(normalizePhone('123-456-7890', 'US')).toBeUndefined();
  });
});
