/**
 * Bodies and queries of the crisis routes: activations, notices, and the one-step callback
 * request. Forms send strings, so a list of locations may also come as `loc-1,loc-2`.
 */
import { z } from 'zod';
import { ACTIVATION_KINDS, ACTIVATION_STATUSES } from '../../domain/activation';
import { CALLBACK_PRIORITIES, type CallbackPriority } from '../../domain/call';
import { phoneSchema, type CountryCode } from '../../phone';
import { fhirId } from './fhir-id.schema';

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' });

/** One value, trimmed; absent when missing, blank or repeated (express gives arrays for those). */
const single = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined), schema.optional());

const commaList = (v: unknown): unknown =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : v;

export const activationBody = z
  .object({
    kind: z.enum(ACTIVATION_KINDS, { error: `must be one of ${ACTIVATION_KINDS.join(', ')}` }),
    title: z
      .string('must be a string')
      .trim()
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters'),
    locations: z
      .preprocess(commaList, z.array(fhirId).max(200, 'must name at most 200 locations'))
      .default([])
      .describe('FHIR Location ids (`loc-0001`); absent or empty: every site of the tenant'),
    connection: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .optional()
      .describe("One of the tenant's EHR connections; absent: all of them"),
    message: z
      .string('must be a string')
      .trim()
      .min(1, 'must not be empty')
      .max(1000, 'must be at most 1000 characters')
      .describe('What desks and self-service channels tell callers; not about any one patient'),
    startsAt: instant.optional().describe('Default: now; later: the activation is `scheduled` until then'),
    endsAt: instant.optional().describe('Absent: until ended'),
  })
  .strict();

export const activationListQuery = z.object({
  status: single(z.enum(ACTIVATION_STATUSES, { error: `must be one of ${ACTIVATION_STATUSES.join(', ')}` })),
});

export const activationIdPath = z.object({
  id: z
    .string()
    .regex(/^act_[a-z0-9]{10,60}$/)
    .describe('The activation id'),
});

export const noticesQuery = z.object({
  location: single(z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'is not a valid FHIR id')).describe(
    'A FHIR Location id: notices of activations naming it, and of those naming no location',
  ),
  connection: single(z.string()).describe("One of the tenant's EHR connections; absent: all of them"),
});

/** Numbers without a country code are read in `region`, the EHR connection's. */
export function callbackRequestBody(region: CountryCode) {
  return z
    .object({
      reason: z.string().trim().min(1).max(500).optional(),
      priority: z
        .enum(CALLBACK_PRIORITIES as unknown as [CallbackPriority, ...CallbackPriority[]], {
          error: `must be one of ${CALLBACK_PRIORITIES.join(', ')}`,
        })
        .default('routine'),
      phone: phoneSchema(region).optional().describe("Absent: the number on the patient's record"),
    })
    .strict();
}
