import { LRUCache } from 'lru-cache';
import { escapeFhirSearchValue } from './fhir-search-escape';
import { parseValidPhone } from './normalize-phone';
import type { CountryCode } from './normalize-phone';

/**
 * The texts an EHR may have stored for a number. FHIR servers match `Patient?phone=` against the stored
 * text exactly, so a lookup by caller number has to offer every common way of writing it.
 * Returns [] when the input is not a valid number.
 */
export function phoneSearchVariants(e164: string, defaultRegion: CountryCode): string[] {
  const phone = parseValidPhone(e164, defaultRegion);
  if (phone === undefined) return [];
  const variants = [
    phone.number,
    ...(phone.countryCallingCode === '1' ? northAmericanVariants(phone.nationalNumber) : []),
    phone.formatInternational(),
    phone.formatNational(),
    phone.nationalNumber,
    `${phone.countryCallingCode}${phone.nationalNumber}`,
    phone.format('RFC3966'),
  ];
  // A number from another country is dialled from the default region with its international prefix (011 44 ...).
  if (phone.country !== defaultRegion) {
    const dialledFromRegion = phone.format('IDD', { fromCountry: defaultRegion });
    if (dialledFromRegion !== '') variants.push(dialledFromRegion);
  }
  return [...new Set(variants)];
}

/** NANP numbers (+1) are written in many hand-made formats; these are the ones seen in EHR data. */
function northAmericanVariants(nationalNumber: string): string[] {
  const area = nationalNumber.slice(0, 3);
  const exchange = nationalNumber.slice(3, 6);
  const line = nationalNumber.slice(6);
  return [
    `1${nationalNumber}`,
    nationalNumber,
    `${area}-${exchange}-${line}`,
    `(${area}) ${exchange}-${line}`,
    `(${area})${exchange}-${line}`,
    `${area}.${exchange}.${line}`,
    `${area} ${exchange} ${line}`,
    `+1 ${area}-${exchange}-${line}`,
    `+1 (${area}) ${exchange}-${line}`,
    `1-${area}-${exchange}-${line}`,
    `+1-${area}-${exchange}-${line}`,
    `+1 ${area} ${exchange} ${line}`,
    `1 (${area}) ${exchange}-${line}`,
    `1 ${area} ${exchange} ${line}`,
    `+1.${area}.${exchange}.${line}`,
    `1.${area}.${exchange}.${line}`,
  ];
}

/**
 * The `phone` search values for a number, one per stored format, each escaped, memoised: formatting
 * every way a number may be stored costs about 90 µs, and a screen pop asks for the same few
 * numbers again and again.
 */
export function createPhoneSearchValues(
  defaultRegion: CountryCode,
  maxEntries = 10000,
): (e164: string) => readonly string[] {
  const known = new LRUCache<string, readonly string[]>({ max: maxEntries });
  return (e164) => {
    const hit = known.get(e164);
    if (hit !== undefined) return hit;
    const values = phoneSearchVariants(e164, defaultRegion).map(escapeFhirSearchValue);
    known.set(e164, values);
    return values;
  };
}

/** The one `phone` search value that matches every stored format of a number (alternatives joined by commas). */
export function createPhoneSearchValue(
  defaultRegion: CountryCode,
  maxEntries = 10000,
): (e164: string) => string {
  const known = new LRUCache<string, string>({ max: maxEntries });
  const values = createPhoneSearchValues(defaultRegion, maxEntries);
  return (e164) => {
    const hit = known.get(e164);
    if (hit !== undefined) return hit;
    const value = values(e164).join(',');
    known.set(e164, value);
    return value;
  };
}
