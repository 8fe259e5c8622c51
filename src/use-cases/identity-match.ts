/**
 * Whether a patient, as the EHR (or the cache) has it, is the one a caller claims to be. Every
 * factor is compared on every candidate, each in constant time and with no early return, so the
 * time an answer takes does not tell which factor, or whether any, was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PatientModel } from '../domain/patient';

/** What the caller says about themselves. Every field given must match the same patient. */
export interface IdentityClaim {
  /** YYYY-MM-DD. */
  readonly birthDate: string;
  readonly family?: string | undefined;
  readonly mrn?: string | undefined;
  /** E.164. */
  readonly phone?: string | undefined;
}

const FOLDED_LETTERS: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
};

/**
 * A family name as compared: lower case, accents and compatibility forms removed (NFKD), letters
 * without a decomposition spelled out (ß -> ss, ø -> o), and every space, hyphen, apostrophe or
 * period dropped, so "García-López", "garcia lopez" and "GARCIALOPEZ" compare equal, as do
 * "O'Brien" and "OBrien". Empty when the name has no letter or digit.
 */
export function foldName(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[ßæœøłđðþı]/gu, (letter) => FOLDED_LETTERS[letter] ?? letter)
    .replace(/[^\p{L}\p{N}]+/gu, '');
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Equal strings, compared in a time that depends on neither (their digests are compared). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Each factor of a claim, judged on one patient; a factor the claim does not give counts as met. */
export interface FactorMatch {
  readonly birthDate: boolean;
  /** Family name, MRN and phone: what picks the patient out, the birth date aside. */
  readonly identity: boolean;
}

/** Every factor, always: a mismatch early on does not skip the rest. */
export function matchFactors(model: PatientModel, claim: IdentityClaim): FactorMatch {
  const birthDate = sameSecret(model.birthDate ?? '', claim.birthDate) && model.birthDate !== undefined;
  let identity = true;
  if (claim.family !== undefined) {
    const wanted = foldName(claim.family);
    const stored = model.name.family === undefined ? '' : foldName(model.name.family);
    identity = sameSecret(stored, wanted) && wanted !== '' && identity;
  }
  if (claim.mrn !== undefined) {
    identity = sameSecret((model.mrn ?? '').trim(), claim.mrn.trim()) && model.mrn !== undefined && identity;
  }
  if (claim.phone !== undefined) {
    let found = false;
    for (const phone of model.phones) found = sameSecret(phone, claim.phone) || found;
    identity = found && identity;
  }
  return { birthDate, identity };
}

/** Whether the patient is the one the caller claims to be: every factor given matches. */
export function matchesClaim(model: PatientModel, claim: IdentityClaim): boolean {
  const { birthDate, identity } = matchFactors(model, claim);
  return birthDate && identity;
}
