/** The shape of an E.164 number as `phoneSchema` produces it: `+`, country code, at most 15 digits. */
const E164 = /^\+[1-9]\d{1,14}$/;

export function isE164(value: string): boolean {
  return E164.test(value);
}
