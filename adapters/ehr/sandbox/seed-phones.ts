import type { SeededRandom } from './seed-random';

/**
 * The ways US numbers are actually typed into EHRs, one example each for 617-555-1234. Patients' numbers are
 * written in all of them on purpose: a real EHR stores the text as entered and matches it exactly, and the
 * gateway (E.164 normalisation, its own phone index) must cope with every one of them.
 */
export const PHONE_FORMATS = {
  digits: '6175551234',
  dashed: '617-555-1234',
  parenthesised: '(617) 555-1234',
  dotted: '617.555.1234',
  e164: '+16175551234',
  internationalDashed: '+1 617-555-1234',
  trunkDashed: '1-617-555-1234',
  spaced: '617 555 1234',
} as const;

export type PhoneFormat = keyof typeof PHONE_FORMATS;

export const PHONE_FORMAT_NAMES = Object.keys(PHONE_FORMATS) as PhoneFormat[];

/** A US number as its three parts, e.g. area `617`, exchange `555`, line `0123`. */
export interface UsNumber {
  readonly area: string;
  readonly exchange: string;
  readonly line: string;
}

export function formatPhone(number: UsNumber, format: PhoneFormat): string {
  const { area, exchange, line } = number;
  switch (format) {
    case 'digits':
      return `${area}${exchange}${line}`;
    case 'dashed':
      return `${area}-${exchange}-${line}`;
    case 'parenthesised':
      return `(${area}) ${exchange}-${line}`;
    case 'dotted':
      return `${area}.${exchange}.${line}`;
    case 'e164':
      return `+1${area}${exchange}${line}`;
    case 'internationalDashed':
      return `+1 ${area}-${exchange}-${line}`;
    case 'trunkDashed':
      return `1-${area}-${exchange}-${line}`;
    case 'spaced':
      return `${area} ${exchange} ${line}`;
  }
}

export function toE164(number: UsNumber): string {
  return `+1${number.area}${number.exchange}${number.line}`;
}

/**
 * Hands out distinct fictional numbers. 555-0100 to 555-0199 is the range reserved for fiction in every
 * area code; once most of it is used in an area code (large `patientCount`), other 555 lines follow, which
 * are unassigned in practice.
 */
export class PhoneNumbers {
  private readonly used = new Set<string>();

  constructor(private readonly random: SeededRandom) {}

  next(areaCodes: readonly string[]): UsNumber {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const area = this.random.pick(areaCodes);
      const reserved = attempt < 50;
      const line = reserved
        ? `01${this.random.digits(2)}`
        : String(this.random.int(200, 9999)).padStart(4, '0');
      const number = { area, exchange: '555', line };
      if (!this.used.has(toE164(number))) {
        this.used.add(toE164(number));
        return number;
      }
    }
    throw new Error('Ran out of fictional phone numbers');
  }
}

/**
 * Deals formats like cards from a shuffled deck, so every format appears evenly across patients while the
 * order still looks random.
 */
export class PhoneFormatDeck {
  private deck: PhoneFormat[] = [];

  constructor(private readonly random: SeededRandom) {}

  next(): PhoneFormat {
    if (this.deck.length === 0) {
      this.deck = this.random.shuffle(PHONE_FORMAT_NAMES);
    }
    const format = this.deck.pop();
    if (format === undefined) {
      throw new Error('empty phone format deck');
    }
    return format;
  }
}
