/**
 * Query and path parameters of the reads. A blank or repeated query parameter counts as absent,
 * an invalid one is a 400 VALIDATION naming it (never echoing its value), as everywhere.
 */
import { z } from 'zod';
import { APPOINTMENT_MODES, type AppointmentMode } from '../../domain/appointment';
import { FHIR_ID } from '../../domain/fhir';
import { SUMMARY_DAYS, SUMMARY_LIMIT } from '../../use-cases/patient-summary';

/** One value, trimmed; absent when missing, blank or repeated (express gives arrays for those). */
const single = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined), schema.optional());

/** A date (`2026-12-01`, read as UTC midnight) or an ISO instant. */
const dateOrInstant = z
  .string()
  .transform((raw, ctx) => {
    const value = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? new Date(`${raw}T00:00:00Z`) : new Date(raw);
    if (Number.isNaN(value.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'must be a date (YYYY-MM-DD) or an ISO 8601 instant' });
      return z.NEVER;
    }
    return value;
  })
  .describe('A date (YYYY-MM-DD, UTC midnight) or an ISO 8601 instant');

const wholeNumber = (min: number, max: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

const fhirId = z.string().regex(FHIR_ID, 'is not a valid FHIR id');

/** Which of the tenant's EHR connections to use; absent: the tenant's first. */
export const connectionQuery = z.object({
  connection: single(z.string()).describe("One of the tenant's EHR connections; absent: its default"),
});

export const slotsQuery = connectionQuery.extend({
  from: single(dateOrInstant).describe('Default: now'),
  to: single(dateOrInstant).describe('Default: 14 days after `from`'),
  serviceType: single(z.string().regex(FHIR_ID, 'must be a service type code')).describe(
    'A service type code',
  ),
  practitioner: single(fhirId),
  location: single(fhirId),
  mode: single(
    z.enum(APPOINTMENT_MODES as [AppointmentMode, ...AppointmentMode[]], {
      error: `must be one of ${APPOINTMENT_MODES.join(', ')}`,
    }),
  ),
  limit: single(wholeNumber(1, 100)).default(10).describe('Slots listed at most; default 10'),
});

export const patientAppointmentsQuery = connectionQuery.extend({
  from: single(dateOrInstant).describe('Default: now'),
  to: single(dateOrInstant).describe('Default: 90 days after `from`'),
  status: single(z.string())
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    )
    .describe('A comma list of FHIR Appointment statuses; absent: all'),
});

export const summaryQuery = connectionQuery.extend({
  days: single(wholeNumber(1, 366))
    .default(SUMMARY_DAYS)
    .describe(`How far ahead is upcoming, in days; default ${SUMMARY_DAYS}`),
  limit: single(wholeNumber(1, 50))
    .default(SUMMARY_LIMIT)
    .describe(`Visits listed at most; default ${SUMMARY_LIMIT}`),
});

export const patientIdPath = z.object({ id: fhirId.describe('The FHIR Patient id') });
export const appointmentIdPath = z.object({ id: fhirId.describe('The FHIR Appointment id') });
export const operationIdPath = z.object({
  id: z
    .string()
    .regex(/^op_[a-z0-9]{10,60}$/)
    .describe('The operation id of a receipt'),
});
export const replayIdPath = z.object({ replayId: z.string() });
export const subscriberPath = z.object({ name: z.string().describe('An event subscriber of the tenant') });
export const connectionPath = z.object({ connection: z.string().describe('An EHR connection name') });
export const sandboxFhirPath = z.object({
  rest: z.string().describe('A FHIR R4 path below the sandbox base, e.g. `Patient/pat-0001`'),
});
export const docsAssetPath = z.object({ file: z.string() });

export const queueDashboardPath = z.object({
  rest: z
    .string()
    .describe('A page, file or API call of the dashboard, e.g. `api/queues` or `queue/writes-sandbox`'),
});
