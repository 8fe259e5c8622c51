/**
 * The body of PATCH /v1/patients/:id in the call-center model. Unknown fields are refused (a
 * typo must not be silently dropped), phones must be real numbers, and at least one field must
 * be present. Form bodies arrive as strings, so single values are accepted where lists are.
 */
import { z } from 'zod';
import type { NewPatient, PatientChanges } from '../../domain/patient';
import { phoneSchema, type CountryCode } from '../../phone';

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(item, 'must be a list'));

const addressSchema = z
  .object({
    line: listOf(text(200)).pipe(z.array(z.string()).min(1, 'must have at least one line').max(4)),
    city: text(100).optional(),
    state: text(100).optional(),
    postalCode: text(20).optional(),
    country: text(60).optional(),
  })
  .strict();

/** BCP-47 language tag, e.g. `en`, `es-MX`, `zh-Hant`. */
const languageTag = z
  .string()
  .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP-47 language tag such as en or es-MX');

/** Form bodies cannot send null: an empty value clears the field there. */
const nullable = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? null : v), schema.nullable());

/** The contact fields, each optional: what a correction changes and a registration may carry. */
function contactFields(region: CountryCode) {
  const phone = phoneSchema(region);
  return {
    phones: listOf(phone).pipe(z.array(z.string()).max(10, 'at most 10 phone numbers')).optional(),
    email: nullable(z.email('must be an email address').max(254)).optional(),
    address: nullable(addressSchema).optional(),
    preferredLanguage: nullable(languageTag).optional(),
  };
}

/** Numbers without a country code are read in `region`, the EHR connection's. */
export function patientChangesSchema(region: CountryCode) {
  return z
    .object(contactFields(region))
    .strict()
    .refine((v) => Object.values(v as Record<string, unknown>).some((x) => x !== undefined), {
      message: 'name at least one of phones, email, address, preferredLanguage',
    })
    .transform((v): PatientChanges => {
      const out: { -readonly [K in keyof PatientChanges]: PatientChanges[K] } = {};
      if (v.phones !== undefined) out.phones = [...new Set(v.phones)];
      if (v.email !== undefined) out.email = v.email;
      if (v.address !== undefined) {
        out.address =
          v.address === null
            ? null
            : {
                line: v.address.line,
                city: v.address.city,
                state: v.address.state,
                postalCode: v.address.postalCode,
                country: v.address.country,
              };
      }
      if (v.preferredLanguage !== undefined) out.preferredLanguage = v.preferredLanguage;
      return out;
    });
}

/** The body of POST /v1/patients: who the caller is, plus optional contact details. */
export function newPatientSchema(region: CountryCode) {
  const changes = patientChangesSchema(region);
  return z
    .object({
      name: z
        .object({
          given: listOf(text(100)).pipe(
            z.array(z.string()).min(1, 'must have at least one given name').max(5),
          ),
          family: text(100),
        })
        .strict(),
      birthDate: z.iso
        .date('must be a date such as 1980-02-29')
        .refine((d) => d <= new Date().toISOString().slice(0, 10), {
          message: 'must not be in the future',
        }),
      gender: z
        .enum(['male', 'female', 'other', 'unknown'], 'must be male, female, other or unknown')
        .optional(),
      mrn: text(64).optional(),
      // Checked here so every problem is named at once, and parsed again below into a correction.
      ...contactFields(region),
    })
    .strict()
    .transform((v, ctx): NewPatient => {
      const { name, birthDate, gender, mrn, ...contact } = v;
      const defined = Object.fromEntries(
        Object.entries(contact as Record<string, unknown>).filter(([, value]) => value !== undefined),
      );
      let details: PatientChanges = {};
      if (Object.keys(defined).length > 0) {
        const parsed = changes.safeParse(defined);
        if (!parsed.success) {
          for (const issue of parsed.error.issues)
            ctx.addIssue({ ...issue, code: 'custom', message: issue.message });
          return z.NEVER;
        }
        details = parsed.data;
      }
      return { name, birthDate, gender, mrn, ...details };
    });
}
