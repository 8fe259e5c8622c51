/** Answers of the patient reads (lookup, demographics, summary, verify); for the OpenAPI document and tests only. */
import { z } from 'zod';
import type { PatientModel } from '../../domain/patient';
import type { LookupDisclosure } from '../../use-cases/lookup-disclosure';
import type { LookupResult } from '../../use-cases/patient-lookup';
import type { PatientView } from '../../use-cases/patient-read';
import type { VerifyResult } from '../../use-cases/verify-patient';
import { appointmentSchema } from './scheduling.response';
import type { Conforms } from './conforms';

export const freshnessSchema = z
  .object({
    source: z.enum(['ehr', 'cache']),
    asOf: z.string().describe('When the EHR gave this answer (ISO 8601)'),
  })
  .describe('`cache`: the EHR could not answer and this is its last good answer, as of `asOf`.');

export const patientSchema = z
  .object({
    id: z.string(),
    version: z.string().optional(),
    mrn: z.string().optional(),
    name: z.object({
      given: z.array(z.string()),
      family: z.string().optional(),
      text: z.string().optional(),
    }),
    birthDate: z.string().optional(),
    gender: z.string().optional(),
    phones: z.array(z.string()).describe('E.164 numbers a tool may dial'),
    undialablePhones: z
      .array(z.string())
      .optional()
      .describe('Numbers the record holds that are not valid numbers, as written; never dialled'),
    email: z.string().optional(),
    address: z
      .object({
        line: z.array(z.string()),
        city: z.string().optional(),
        state: z.string().optional(),
        postalCode: z.string().optional(),
        country: z.string().optional(),
      })
      .optional(),
    preferredLanguage: z.string().optional(),
  })
  .describe('A patient in the call-center model.');

const pendingWrite = z.object({
  operationId: z.string(),
  kind: z.string(),
  status: z.string(),
  fields: z.array(z.string()).describe('Fields shown with the value the queued write sets'),
  acceptedAt: z.string(),
});

export const patientViewSchema = patientSchema
  .extend({ freshness: freshnessSchema, pending: z.array(pendingWrite) })
  .describe('Demographics with queued corrections overlaid and listed in `pending`.');

export const patientSummarySchema = patientViewSchema
  .extend({
    upcomingAppointments: z.array(appointmentSchema),
    appointmentsAvailable: z
      .boolean()
      .describe('false: the EHR could not be asked and nothing was cached; the list is unknown'),
    appointmentsTruncated: z.literal(true).optional(),
    appointmentsTruncatedReason: z.string().optional(),
  })
  .describe('The screen pop: demographics and the next visits.');

const lookupFull = z.object({
  found: z.boolean(),
  phone: z.string().describe('The number as read, in E.164'),
  matches: z.array(patientSchema),
  freshness: freshnessSchema,
  matchIds: z.array(z.string()).optional(),
});

/** What a client with only `patients:lookup` is told: ids, no demographics. */
const lookupIdsOnly = z.object({
  found: z.boolean(),
  count: z.number().int(),
  matches: z.array(z.object({ id: z.string() })),
  freshness: freshnessSchema,
});

export const lookupResultSchema = z
  .union([lookupFull, lookupIdsOnly])
  .describe(
    'Who has this number. `found: false` when nobody does (still 200). Clients holding only ' +
      '`patients:lookup` are told ids alone.',
  );

export const verifyResultSchema = z
  .union([
    z.object({ verified: z.literal(true), patientId: z.string(), freshness: freshnessSchema }),
    z.object({ verified: z.literal(false), freshness: freshnessSchema }),
  ])
  .describe('Every kind of mismatch answers the same `{"verified": false}`.');

export const patientConforms: Conforms<PatientModel, typeof patientSchema> = true;
export const patientViewConforms: Conforms<PatientView, typeof patientViewSchema> = true;
export const lookupConforms: Conforms<LookupResult | LookupDisclosure, typeof lookupResultSchema> = true;
export const verifyConforms: Conforms<
  Omit<Extract<VerifyResult, { verified: true }>, 'attemptedAgainst'>,
  typeof verifyResultSchema
> = true;
