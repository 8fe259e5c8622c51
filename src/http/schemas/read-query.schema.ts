/**
 * Query parameters of the reads whose routes check them one by one (src/http/query-params.ts),
 * written as zod for the OpenAPI document, with the same bounds the routes apply.
 */
import { z } from 'zod';
import { APPOINTMENT_MODES, type AppointmentMode } from '../../domain/appointment';
import { FHIR_ID } from '../../domain/fhir';
import { SUMMARY_DAYS, SUMMARY_LIMIT } from '../../use-cases/patient-summary';

const dateOrInstant = z.string().describe('A date (YYYY-MM-DD, UTC midnight) or an ISO 8601 instant');
const fhirId = z.string().regex(FHIR_ID);

/** Which of the tenant's EHR connections to use; absent: the tenant's first. */
export const connectionQuery = z.object({
  connection: z.string().optional().describe("One of the tenant's EHR connections; absent: its default"),
});

export const slotsQuery = connectionQuery.extend({
  from: dateOrInstant.optional().describe('Default: now'),
  to: dateOrInstant.optional().describe('Default: 14 days after `from`'),
  serviceType: fhirId.optional().describe('A service type code'),
  practitioner: fhirId.optional(),
  location: fhirId.optional(),
  mode: z.enum(APPOINTMENT_MODES as [AppointmentMode, ...AppointmentMode[]]).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(10),
});

export const patientAppointmentsQuery = connectionQuery.extend({
  from: dateOrInstant.optional().describe('Default: now'),
  to: dateOrInstant.optional().describe('Default: 90 days after `from`'),
  status: z.string().optional().describe('A comma list of FHIR Appointment statuses; absent: all'),
});

export const summaryQuery = connectionQuery.extend({
  days: z.coerce.number().int().min(1).max(366).default(SUMMARY_DAYS).describe('How far ahead is upcoming'),
  limit: z.coerce.number().int().min(1).max(50).default(SUMMARY_LIMIT),
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
