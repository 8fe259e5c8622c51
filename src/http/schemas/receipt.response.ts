/** The receipt of a write, as the API answers it; for the OpenAPI document and tests only. */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../domain/errors';
import { OPERATION_STATUSES, type Receipt } from '../../domain/operation';
import { URGENCIES, URGENCY_REASONS } from '../../domain/urgency';
import type { Conforms } from './conforms';

const OPERATION_KINDS = [
  'patient.update',
  'patient.create',
  'appointment.book',
  'appointment.cancel',
  'appointment.confirm',
  'appointment.reschedule',
  'appointment.convert',
  'appointment.hold',
  'call.log',
  'callback.request',
] as const;

export const errorCodeSchema = z
  .enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]])
  .describe('The stable error code; see README "Error codes".');

export const operationErrorSchema = z.object({
  code: errorCodeSchema,
  status: z.number().int(),
  retryable: z.boolean(),
  detail: z.string().optional(),
  outcome: z.unknown().optional().describe("The EHR's OperationOutcome, when it answered with one"),
  mapping: z
    .object({
      profile: z.string(),
      file: z.string(),
      field: z.string(),
      expression: z.string().optional(),
      errorClass: z.string(),
    })
    .optional(),
  ehrStatus: z.number().int().optional(),
});

export const receiptSchema = z
  .object({
    operationId: z.string().regex(/^op_[a-z0-9]{10,60}$/),
    kind: z.enum(OPERATION_KINDS),
    status: z.enum(OPERATION_STATUSES),
    urgency: z
      .enum(URGENCIES)
      .describe(
        'Decided when the write was accepted; the drain serves lanes holding an urgent write first, never reordering a patient',
      ),
    urgencyReason: z
      .enum(URGENCY_REASONS)
      .nullable()
      .describe(
        'Why it is urgent: an appointment starting within 48 h, a callback above routine priority, or `Prefer: priority=urgent`',
      ),
    expectedBy: z
      .string()
      .nullable()
      .describe(
        'Estimated time the write reaches the EHR: now + (jobs served before it + 1) / writes drained per second over the last minute. Null when final, when the EHR is down or nothing drained in the last minute, and in lists',
      ),
    connection: z.string(),
    patientId: z.string().nullable(),
    resourceRef: z.string().nullable().describe('e.g. `Appointment/123` once the EHR holds it'),
    attempts: z.number().int().min(0),
    lastError: operationErrorSchema.nullable(),
    history: z.array(
      z.object({
        status: z.enum(OPERATION_STATUSES),
        at: z.string(),
        attempt: z.number().int(),
        error: operationErrorSchema.optional(),
        note: z.string().optional(),
      }),
    ),
    review: z
      .object({
        reason: z.string(),
        fields: z.array(
          z.object({
            element: z.string(),
            base: z.unknown(),
            current: z.unknown(),
            requested: z.unknown(),
          }),
        ),
      })
      .nullable(),
    profile: z
      .object({ name: z.string(), hash: z.string().regex(/^[0-9a-f]{64}$/) })
      .describe(
        'The mapping profile version the write applies with: the one it was accepted under (an operator retry moves it to the running one); see GET /v1/mappings/versions/{hash}',
      ),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .describe('What a caller sees of an accepted write; never its payload.');

/** A write's answer: the receipt, marked when the same Idempotency-Key was seen before. */
export const writeReceiptSchema = receiptSchema.extend({
  replayed: z
    .literal(true)
    .optional()
    .describe('The same Idempotency-Key was used before: this is the earlier write'),
});

export const receiptListSchema = z.object({ count: z.number().int(), operations: z.array(receiptSchema) });

export const receiptConforms: Conforms<Receipt, typeof receiptSchema> = true;
