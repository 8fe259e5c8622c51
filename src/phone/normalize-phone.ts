import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
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
