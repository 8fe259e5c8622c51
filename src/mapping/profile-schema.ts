import { z } from 'zod';
import { regionCodeSchema } from '../phone';

/**
 * The shape of a profile's files (see mappings/README.md). Expressions are only checked to be present
 * here; compiling them is the loader's next step, so that a typo in one does not hide the others.
 */
const expression = z.string().trim().min(1, 'must not be empty');

export const profileFileSchema = z
  .strictObject({
    formatVersion: z.literal(1, 'must be 1'),
    description: z.string().optional(),
    identifiers: z.strictObject({
      mrn: z.strictObject({
        systems: z
          .array(z.string().trim().min(1, 'must not be empty'))
          .min(1, 'must name at least one system'),
      }),
    }),
    phone: z
      .strictObject({
        defaultRegion: regionCodeSchema.optional(),
        pinRegion: z.boolean().default(false),
      })
      .default({ pinRegion: false }),
  })
  .superRefine((profile, context) => {
    if (profile.phone.pinRegion && profile.phone.defaultRegion === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['phone', 'defaultRegion'],
        message: 'is required when pinRegion is true',
      });
    }
  });

export type ProfileFile = z.infer<typeof profileFileSchema>;

const writeRuleSchema = z.strictObject({
  element: z.string().regex(/^[a-z][A-Za-z]*$/, 'must be a top-level Patient element, e.g. telecom'),
  replaces: expression,
  whenNoneReplaced: z.enum(['append', 'replaceFirst']).default('append'),
  /** One rule, or rules tried in turn (see mappings/README.md: which old entry a new value continues). */
  existing: z.union([expression, z.array(expression).min(1, 'must list at least one rule')]).optional(),
  template: expression,
});

export type WriteRuleFile = z.infer<typeof writeRuleSchema>;

export const patientFileSchema = z.strictObject({
  read: z.strictObject({
    id: expression,
    version: expression,
    mrn: expression,
    name: z.strictObject({
      from: expression,
      given: expression,
      family: expression,
      text: expression.optional(),
    }),
    birthDate: expression,
    gender: expression,
    phones: expression,
    email: expression,
    address: z.strictObject({
      from: expression,
      line: expression,
      city: expression,
      state: expression,
      postalCode: expression,
      country: expression,
    }),
    preferredLanguage: expression,
  }),
  write: z.strictObject({
    phones: writeRuleSchema,
    email: writeRuleSchema,
    address: writeRuleSchema,
    preferredLanguage: writeRuleSchema,
  }),
  /** The Patient a registration starts from: a JSONata template over the new patient ($value). */
  create: z.strictObject({ template: z.string().min(1) }),
});

export type PatientFile = z.infer<typeof patientFileSchema>;
export type PatientReadFile = PatientFile['read'];
export type PatientWriteField = keyof PatientFile['write'];
