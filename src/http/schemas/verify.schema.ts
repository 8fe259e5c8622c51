/**
 * The body of POST /v1/patients/verify: a birth date plus at least one of family name, MRN and
 * phone; optionally the patient the agent already has (`patientId`) and the calling number
 * (`callerId`, used only to count failed attempts). Values are never echoed in errors.
 *
 * Birth dates: `YYYY-MM-DD`, or eight digits as an IVR collects them on the keypad: `MMDDYYYY`
 * (the US convention), or `YYYYMMDD` when the digits start with 19 or 20 (no month is 19 or 20,
 * so the two never collide). Slashed forms are refused: 03/04/1980 means different days in
 * different countries. Form bodies send empty fields for unset variables: empty is absent.
 */
import { z } from 'zod';
import { FHIR_ID } from '../../domain/fhir';
import { phoneSchema, type CountryCode } from '../../phone';
import { foldName } from '../../use-cases/verify-patient';

const BIRTH_DATE_MESSAGE = 'must be a date such as 1980-02-29 (or MMDDYYYY digits)';
const EARLIEST_BIRTH_YEAR = 1850;

/** `YYYY-MM-DD` for a real calendar date written in one of the accepted forms, else undefined. */
export function parseBirthDate(raw: string): string | undefined {
  const text = raw.trim().replace(/#$/, '');
  let parts: [string, string, string] | undefined;
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const digits = /^\d{8}$/.test(text);
  if (iso?.[1] !== undefined && iso[2] !== undefined && iso[3] !== undefined) {
    parts = [iso[1], iso[2], iso[3]];
  } else if (digits && /^(19|20)/.test(text)) {
    parts = [text.slice(0, 4), text.slice(4, 6), text.slice(6, 8)];
  } else if (digits) {
    parts = [text.slice(4, 8), text.slice(0, 2), text.slice(2, 4)];
  }
  if (parts === undefined) return undefined;
  const [year, month, day] = parts.map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return undefined;
  }
  return parts.join('-');
}

/** Form bodies cannot leave a field out of an IVR's template: an empty value is no value. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

const text = (max: number) =>
  z
    .string('must be a string')
    .trim()
    .max(max, `must be at most ${max} characters`)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

const FIELDS = new Set(['birthDate', 'family', 'mrn', 'phone', 'patientId', 'callerId']);

export type VerifyInput = z.infer<ReturnType<typeof verifyRequestSchema>>;

/** Numbers without a country code are read in `region`, the EHR connection's. */
export function verifyRequestSchema(region: CountryCode) {
  const birthDate = z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .transform((value, ctx) => {
      const date = parseBirthDate(value);
      if (date === undefined) {
        ctx.addIssue({ code: 'custom', message: BIRTH_DATE_MESSAGE });
        return z.NEVER;
      }
      // A day of slack: a baby born today may be born "tomorrow" in UTC.
      const latest = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      if (date > latest) {
        ctx.addIssue({ code: 'custom', message: 'must not be in the future' });
        return z.NEVER;
      }
      if (Number(date.slice(0, 4)) < EARLIEST_BIRTH_YEAR) {
        ctx.addIssue({ code: 'custom', message: `must not be before ${EARLIEST_BIRTH_YEAR}` });
        return z.NEVER;
      }
      return date;
    })
    .describe('YYYY-MM-DD, or eight digits as keyed on a phone: MMDDYYYY, or YYYYMMDD');
  const phone = phoneSchema(region);
  return (
    z
      .object({
        birthDate,
        family: optional(text(100).refine((v) => foldName(v) !== '', 'must contain a letter')),
        mrn: optional(text(64)),
        phone: optional(phone),
        patientId: optional(z.string('must be a string').regex(FHIR_ID, 'must be a FHIR id')),
        callerId: optional(text(128)),
      })
      .catchall(z.unknown())
      // Both checks run even when a field is invalid, so every problem is reported at once.
      .check(
        z.superRefine<Record<string, unknown>>(
          (v, ctx) => {
            if (typeof v !== 'object' || Array.isArray(v)) return;
            for (const key of Object.keys(v)) {
              if (!FIELDS.has(key)) {
                ctx.addIssue({ code: 'custom', path: [key], message: 'is not a field of this request' });
              }
            }
            if (v.family === undefined && v.mrn === undefined && v.phone === undefined) {
              ctx.addIssue({
                code: 'custom',
                path: ['family'],
                message: 'is required unless mrn or phone is given',
              });
            }
          },
          { when: () => true },
        ),
      )
      .transform((v) => ({
        birthDate: v.birthDate,
        family: v.family,
        mrn: v.mrn,
        phone: v.phone,
        patientId: v.patientId,
        callerId: v.callerId,
      }))
  );
}
