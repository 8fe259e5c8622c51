import { PHONE_FORMATS } from '../../adapters/ehr/sandbox';
import {
  PHONE_FORMAT_NAMES,
  PhoneFormatDeck,
  PhoneNumbers,
  formatPhone,
} from '../../adapters/ehr/sandbox/seed-phones';
import { SeededRandom } from '../../adapters/ehr/sandbox/seed-random';

describe('sandbox phone formats', () => {
  it('writes one number in exactly the eight documented formats', () => {
    const number = { area: '617', exchange: '555', line: '1234' };
    const written = PHONE_FORMAT_NAMES.map((format) => formatPhone(number, format));
    expect(written).toEqual([
      '6175551234',
      '617-555-1234',
      '(617) 555-1234',
      '617.555.1234',
      '+16175551234',
      '+1 617-555-1234',
      '1-617-555-1234',
      '617 555 1234',
    ]);
    expect(written).toEqual(Object.values(PHONE_FORMATS));
  });

  it('deals formats evenly', () => {
    const deck = new PhoneFormatDeck(new SeededRandom(3));
    const counts = new Map<string, number>();
    for (let i = 0; i < 80; i++) {
      const format = deck.next();
      counts.set(format, (counts.get(format) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual(Array.from({ length: 8 }, () => 10));
  });

  it('hands out distinct fictional numbers, from 555-0100..0199 first', () => {
    const numbers = new PhoneNumbers(new SeededRandom(5));
    const drawn = Array.from({ length: 300 }, () => numbers.next(['617', '781']));
    expect(new Set(drawn.map((n) => `${n.area}${n.exchange}${n.line}`)).size).toBe(300);
    expect(drawn.every((n) => n.exchange === '555')).toBe(true);
    expect(drawn.slice(0, 100).every((n) => /^01\d\d$/.test(n.line))).toBe(true);
  });
});

describe('SeededRandom', () => {
  it('repeats its sequence for a seed', () => {
    const a = new SeededRandom(99);
    const b = new SeededRandom(99);
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(new SeededRandom(100).next()).not.toBe(new SeededRandom(99).next());
  });
});
