/** Request bodies of the mapping workbench (/v1/mappings/*). */
import { z } from 'zod';
import { APPOINTMENT_MODES, type AppointmentMode } from '../../domain/appointment';
import { FIXTURE_KINDS } from '../../domain/fixture-kinds';
import { RULE_LANGUAGES, WORKBENCH_RESOURCE_TYPES } from '../../domain/mapping-workbench';
import { fhirId } from './fhir-id.schema';

/** A profile is a folder name under the mappings folder. */
export const profileName = z
  .string('must be a string')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'is not a profile name');

export const profileNamePath = z.object({ name: profileName.describe('The profile (its folder name)') });

const MAX_SOURCE = 20_000;

export const ruleEdit = z.strictObject({
  file: z.string().min(1).max(64).describe('The profile file, e.g. `patient.yaml`'),
  field: z.string().min(1).max(200).describe('The rule, e.g. `read.mrn` or `write.phones.template`'),
  source: z.string().min(1, 'must not be empty').max(MAX_SOURCE),
});

const edits = z
  .array(ruleEdit)
  .max(100)
  .default([])
  .describe('Unsaved rule changes to apply to the profile files first');

const fhirResource = z.looseObject({ resourceType: z.string() });

const recordFields = {
  profile: profileName,
  connection: z.string().min(1).max(64).optional().describe("Default: the tenant's first using the profile"),
  id: fhirId.optional().describe('A live record, read from the connection'),
  resource: fhirResource.optional().describe('A record given whole, instead of `id`'),
  edits,
};

const oneRecord = (body: { id?: unknown; resource?: unknown }): boolean =>
  (body.id === undefined) !== (body.resource === undefined);
const oneRecordMessage = { message: 'give exactly one of id and resource', path: ['id'] };

export const explainBody = z
  .strictObject({ ...recordFields, resourceType: z.enum(WORKBENCH_RESOURCE_TYPES) })
  .refine(oneRecord, oneRecordMessage);

export const appointmentChangeSchema = z.strictObject({
  action: z.enum(['cancel', 'convert', 'hold']),
  mode: z.enum(APPOINTMENT_MODES as [AppointmentMode, ...AppointmentMode[]]).optional(),
  reason: z.string().min(1).max(500).optional(),
});

export const tryBody = z
  .strictObject({
    ...recordFields,
    resourceType: z.enum(['Patient', 'Appointment']),
    change: z
      .looseObject({})
      .describe(
        'Patient: the fields of a correction (phones, email, address, preferredLanguage); ' +
          'Appointment: `{action: cancel|convert|hold, mode?, reason?}`',
      ),
  })
  .refine(oneRecord, oneRecordMessage);

export const evaluateBody = z
  .strictObject({
    ...recordFields,
    resourceType: z.enum(WORKBENCH_RESOURCE_TYPES),
    language: z.enum(RULE_LANGUAGES),
    source: z.string().min(1, 'must not be empty').max(MAX_SOURCE),
    base: z
      .string()
      .regex(/^[A-Z][A-Za-z]*(\.[a-z][A-Za-z]*)*$/, 'must be an element path such as Patient.name')
      .optional(),
    value: z.unknown().optional().describe("A template's $value; the record when absent"),
  })
  .refine(oneRecord, oneRecordMessage);

export const fixtureBody = z
  .object({
    kind: z.enum(FIXTURE_KINDS, { error: `is not a fixture kind: one of ${FIXTURE_KINDS.join(', ')}` }),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,79}$/, 'must be a slug: lower-case letters, digits, dashes'),
    description: z.string().max(500).optional(),
    expected: z.unknown().optional().describe('Default: what the profile (with `edits`) produces'),
    overwrite: z.boolean().default(false),
    edits,
  })
  .catchall(z.unknown())
  .describe("The kind's own members besides these: `input`, `changes`, `slot`, `schedule`, `action`...");

export const rulesBody = z.strictObject({ edits: z.array(ruleEdit).min(1).max(100) });
