/** The body of POST /v1/appointments, in the call-center model; form bodies arrive as strings. */
import { z } from 'zod';
import { fhirId } from './fhir-id.schema';
import {
  APPOINTMENT_MODES,
  VIRTUAL_MODES,
  type AppointmentMode,
  type VirtualMode,
} from '../../domain/appointment';

const mode = z.enum(APPOINTMENT_MODES as [AppointmentMode, ...AppointmentMode[]], {
  error: `must be one of ${APPOINTMENT_MODES.join(', ')}`,
});

/**
 * A call-center cancellation reason from the mapping profile's table, e.g. `patient-request`. The
 * table is the EHR's, so the check against it is the use case's; the schema says where it comes from.
 */
export const cancellationReason = z
  .string('must be a string')
  .trim()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .describe(
    "A cancellation reason from the EHR's mapping profile table (appointment.yaml " +
      '`codes.cancellationReason`): one of its call-center values (the default profile has ' +
      "`patient-request`, `provider`, `weather`, `other` and more), or one of the EHR's own codes " +
      'there (`pat`), recorded as its value; either in any case, recorded in the table spelling. Any other value, free text included, is refused with 422 ' +
      'VALIDATION whose `acceptedReasons` lists the values; nothing is queued.',
  );

export const cancelSchema = z
  .object({ patientId: fhirId.optional(), reason: cancellationReason.optional() })
  .strict();

/** A visit turned into a video or phone visit at the same time; the reason is coded like a cancellation's. */
export const convertSchema = z
  .object({
    mode: z.enum(VIRTUAL_MODES as [VirtualMode, ...VirtualMode[]], {
      error: `must be one of ${VIRTUAL_MODES.join(', ')} (a visit in person needs a booking)`,
    }),
    patientId: fhirId.optional(),
    reason: cancellationReason.optional(),
  })
  .strict();

/** A visit held for reschedule: taken off the schedule, its slot freed, the patient to be called back. */
export const holdSchema = z
  .object({ patientId: fhirId.optional(), reason: cancellationReason.optional() })
  .strict();

export const confirmSchema = z.object({ patientId: fhirId.optional() }).strict();

export const rescheduleSchema = z
  .object({
    slotId: fhirId,
    patientId: fhirId.optional(),
    mode: mode.optional(),
    appointmentType: z.string().trim().min(1).max(64).optional(),
    /** Recorded as the cancellation reason of the appointment being moved. */
    reason: cancellationReason.optional(),
  })
  .strict();

export const bookingSchema = z
  .object({
    patientId: fhirId,
    slotId: fhirId,
    mode: mode.default('in-person'),
    /** A call-center appointment type from the mapping profile's table, e.g. `routine`. */
    appointmentType: z.string().trim().min(1).max(64).optional(),
    /** The caller's reason for the visit, in their words. */
    reason: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(500, 'must be at most 500 characters')
      .optional(),
  })
  .strict();
