/** Bodies of POST /v1/calls and POST /v1/callbacks, in the call-center model; forms send strings. */
import { z } from 'zod';
import { fhirId } from './fhir-id.schema';
import { CALLBACK_PRIORITIES, type CallbackPriority } from '../../domain/call';
import { phoneSchema, type CountryCode } from '../../phone';

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' });
const code = z.string().trim().min(1).max(64);
const notes = z.string().trim().min(1, 'must not be empty').max(4000, 'must be at most 4000 characters');

export const callSchema = z
  .object({
    patientId: fhirId.optional(),
    direction: z.enum(['inbound', 'outbound'], { error: 'must be inbound or outbound' }).default('inbound'),
    startedAt: instant,
    endedAt: instant.optional(),
    agentName: z.string().trim().min(1).max(200).optional(),
    /** The agent's Practitioner id, when the EHR knows agents as practitioners. */
    agentPractitionerId: fhirId.optional(),
    reason: code.optional(),
    disposition: code.optional(),
    notes: notes.optional(),
  })
  .strict()
  .refine((call) => call.endedAt === undefined || Date.parse(call.endedAt) >= Date.parse(call.startedAt), {
    path: ['endedAt'],
    message: 'must not be before startedAt',
  });

/** Numbers without a country code are read in `region`, the EHR connection's. */
export function callbackSchema(region: CountryCode) {
  return z
    .object({
      patientId: fhirId.optional(),
      phone: phoneSchema(region),
      windowStart: instant.optional(),
      windowEnd: instant.optional(),
      priority: z
        .enum(CALLBACK_PRIORITIES as unknown as [CallbackPriority, ...CallbackPriority[]], {
          error: `must be one of ${CALLBACK_PRIORITIES.join(', ')}`,
        })
        .default('routine'),
      reason: z.string().trim().min(1).max(500).optional(),
      notes: notes.optional(),
    })
    .strict()
    .refine(
      (c) =>
        c.windowStart === undefined ||
        c.windowEnd === undefined ||
        Date.parse(c.windowEnd) > Date.parse(c.windowStart),
      { path: ['windowEnd'], message: 'must be after windowStart' },
    );
}
