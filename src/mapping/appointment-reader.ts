/**
 * The `appointment.yaml` part of a profile: FHIRPath per model field, plus code tables that turn
 * the EHR's codes into call-center values (modes, appointment types, cancellation reasons), so
 * IVR prompts and agent screens never depend on one EHR's vocabulary.
 */
import { z } from 'zod';
import type { Appointment } from '../domain/fhir';
import type { AppointmentMode, AppointmentModel, ReferenceModel } from '../domain/appointment';
import { APPOINTMENT_MODES } from '../domain/appointment';
import type { FhirPathExpression } from './fhirpath-expression';
import { firstReference, firstText, type Evaluate } from './field-readers';

const expression = z.string().trim().min(1, 'must not be empty');

/** A profile's code table: the EHR's codes -> call-center values, read both ways. */
export const codeTable = z.strictObject({
  /** The code system of the EHR's codes, sent with them on writes. */
  system: z.string().min(1).optional(),
  /** Used when the EHR gives no code at all. */
  default: z.string().min(1).optional(),
  map: z.record(z.string(), z.string().min(1)).default({}),
});

export const appointmentFileSchema = z.strictObject({
  read: z.strictObject({
    id: expression,
    version: expression,
    status: expression,
    start: expression,
    end: expression,
    patient: expression,
    slot: expression,
    practitioner: expression,
    location: expression,
    mode: expression,
    appointmentType: expression,
    serviceType: expression,
    reason: expression,
    cancellationReason: expression,
  }),
  codes: z.strictObject({
    mode: codeTable.refine(
      (table) =>
        [table.default, ...Object.values(table.map)].every(
          (value) => value === undefined || (APPOINTMENT_MODES as readonly string[]).includes(value),
        ),
      `values must be one of ${APPOINTMENT_MODES.join(', ')}`,
    ),
    appointmentType: codeTable.prefault({}),
    cancellationReason: codeTable.prefault({}),
  }),
  /** The Appointment a booking creates: a JSONata template over the booking ($value). */
  book: z.strictObject({ template: z.string().min(1) }),
  /** The Appointment a conversion writes: a JSONata template over the appointment and the new mode. */
  convert: z.strictObject({ template: z.string().min(1) }),
  /** The Appointment a hold for reschedule writes: a JSONata template over the appointment and reason. */
  hold: z.strictObject({ template: z.string().min(1) }),
});

export type AppointmentFile = z.infer<typeof appointmentFileSchema>;
export type AppointmentReadField = keyof AppointmentFile['read'];
export type CodeTable = z.infer<typeof codeTable>;

export interface AppointmentReadSpec {
  readonly read: Readonly<Record<AppointmentReadField, FhirPathExpression>>;
  readonly codes: AppointmentFile['codes'];
}

/** The EHR's code for a call-center value: the first code the table maps to it, else the value itself. */
export function lookUpCode(table: CodeTable, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Object.entries(table.map).find(([, mapped]) => mapped === value)?.[0] ?? value;
}

export function lookUp(table: CodeTable, code: string | undefined): string | undefined {
  if (code === undefined) return table.default;
  return table.map[code] ?? code;
}

export function readAppointmentWith(
  spec: AppointmentReadSpec,
  evaluate: Evaluate,
  resource: Appointment,
): AppointmentModel {
  const text = (field: AppointmentReadField): string | undefined =>
    firstText(evaluate, `read.${field}`, spec.read[field], resource);
  const reference = (field: AppointmentReadField): ReferenceModel | undefined =>
    firstReference(evaluate, `read.${field}`, spec.read[field], resource);
  return {
    id: text('id') ?? '',
    version: text('version'),
    status: text('status') ?? 'unknown',
    start: text('start'),
    end: text('end'),
    patientId: reference('patient')?.id,
    slotId: reference('slot')?.id,
    practitioner: reference('practitioner'),
    location: reference('location'),
    // The schema only lets the table produce modes; a code passed through must be one too.
    mode: asMode(lookUp(spec.codes.mode, text('mode'))),
    appointmentType: lookUp(spec.codes.appointmentType, text('appointmentType')),
    serviceType: text('serviceType'),
    reason: text('reason'),
    cancellationReason: lookUp(spec.codes.cancellationReason, text('cancellationReason')),
  };
}

function asMode(value: string | undefined): AppointmentMode {
  return (APPOINTMENT_MODES as readonly string[]).includes(value ?? '')
    ? (value as AppointmentMode)
    : 'in-person';
}
