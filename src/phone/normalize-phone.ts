import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { LRUCache } from 'lru-cache';
import type { CountryCode, PhoneNumber } from 'libphonenumber-js/max';

export type { CountryCode };

/**
 * Parses a phone number as people and EHRs write it: national or international formats, `tel:` URIs,
 * extensions. The full ("max") metadata is used so that validity is checked against each region's
 * numbering plan, not just the number's length.
 */
export function parseValidPhone(raw: string, defaultRegion: CountryCode): PhoneNumber | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  const parsed = parsePhoneNumberFromString(text, defaultRegion);
  return parsed?.isValid() === true ? parsed : undefined;
}

/** E.164 (`+16175551234`) for a valid number, extension dropped; undefined when the number is not valid. */
export function normalizePhone(raw: string, defaultRegion: CountryCode): string | undefined {
  return parseValidPhone(raw, defaultRegion)?.number;
}

/** `normalizePhone` for one region, remembering recent answers. */
export type PhoneNormalizer = (raw: string) => string | undefined;

/**
 * Parsing against the full numbering-plan metadata costs tens of microseconds a number, and the
 * same few numbers come back on every read, write and index refresh of a patient: the mapping
 * engine keeps one of these per profile.
 */
export function createPhoneNormalizer(defaultRegion: CountryCode, maxEntries = 10000): PhoneNormalizer {
  const known = new LRUCache<string, { readonly e164: string | undefined }>({ max: maxEntries });
  return (raw) => {
    const hit = known.get(raw);
    if (hit !== undefined) return hit.e164;
    const e164 = normalizePhone(raw, defaultRegion);
    known.set(raw, { e164 });
    return e164;
  };
}
