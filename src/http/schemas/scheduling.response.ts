/** Answers of appointment and slot reads; for the OpenAPI document and tests only. */
import { z } from 'zod';
import type { AppointmentModel } from '../../domain/appointment';
import { SEARCH_TRUNCATION_REASONS } from '../../domain/search-result';
import type { SlotModel } from '../../domain/slot';
import type { AppointmentList } from '../../use-cases/patient-appointments';
import type { SlotList } from '../../use-cases/find-slots';
import type { Conforms } from './conforms';

const MODES = ['in-person', 'video', 'phone'] as const;

const reference = z.object({ id: z.string(), name: z.string().optional() });

const freshness = z.object({ source: z.enum(['ehr', 'cache']), asOf: z.string() });

export const appointmentSchema = z
  .object({
    id: z.string().describe('The EHR id; the operation id while a booking waits in the queue'),
    version: z.string().optional(),
    status: z.string().describe('FHIR Appointment.status'),
    start: z.string().optional(),
    end: z.string().optional(),
    patientId: z.string().optional(),
    slotId: z.string().optional(),
    practitioner: reference.optional(),
    location: reference.optional(),
    mode: z.enum(MODES),
    appointmentType: z.string().optional(),
    serviceType: z.string().optional(),
    reason: z.string().optional(),
    cancellationReason: z.string().optional(),
    pending: z
      .object({ operationId: z.string(), kind: z.string(), status: z.string() })
      .optional()
      .describe('Set while a write for this appointment waits in the queue'),
  })
  .describe('An appointment in the call-center model.');

export const appointmentListSchema = z.object({
  patientId: z.string(),
  from: z.string(),
  to: z.string(),
  appointments: z.array(appointmentSchema),
  freshness,
  truncated: z.literal(true).optional().describe('The EHR holds more in the range than it gave'),
  truncatedReason: z.enum(SEARCH_TRUNCATION_REASONS).optional(),
});

export const slotSchema = z
  .object({
    id: z.string(),
    version: z.string().optional(),
    status: z.string().describe('FHIR Slot.status'),
    start: z.string().optional(),
    end: z.string().optional(),
    scheduleId: z.string().optional(),
    serviceType: z.string().optional(),
    practitioner: reference.optional(),
    location: reference.optional(),
    modes: z.array(z.enum(MODES)),
  })
  .describe('A bookable time: when, with whom, where.');

export const slotListSchema = z.object({ slots: z.array(slotSchema), freshness });

export const appointmentConforms: Conforms<AppointmentModel, typeof appointmentSchema> = true;
export const appointmentListConforms: Conforms<AppointmentList, typeof appointmentListSchema> = true;
export const slotConforms: Conforms<SlotModel, typeof slotSchema> = true;
export const slotListConforms: Conforms<SlotList, typeof slotListSchema> = true;
