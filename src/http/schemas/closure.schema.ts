/** The body of POST /v1/crisis/closures; forms send strings, so `dryRun` accepts "true"/"false". */
import { z } from 'zod';
import { CALLBACK_PRIORITIES, type CallbackPriority } from '../../domain/call';
import { CLOSURE_ACTIONS, type ClosureAction } from '../../domain/closure';
import { cancellationReason } from './booking.schema';
import { fhirId } from './fhir-id.schema';

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' });
/** A closure spans days or weeks; a quarter is the most one request may change. */
const MAX_WINDOW_DAYS = 92;
const DAY_MS = 86_400_000;

const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

export const closureSchema = z
  .object({
    locations: z
      .array(fhirId)
      .min(1, 'must name at least one location')
      .max(100, 'must name at most 100 locations'),
    from: instant,
    to: instant,
    action: z.enum(CLOSURE_ACTIONS as unknown as [ClosureAction, ...ClosureAction[]], {
      error: `must be one of ${CLOSURE_ACTIONS.join(', ')}`,
    }),
    mode: z.enum(['video', 'phone'], { error: 'must be video or phone' }).optional(),
    reason: z
      .string('must be a string')
      .trim()
      .min(1, 'must not be empty')
      .max(500, 'must be at most 500 characters')
      .describe(
        "Free text: what every affected patient's callback and notices say. Also each visit's " +
          "cancellation reason when `cancellationReason` is absent: the table's code when it is one of the profile's " +
          "reasons (any case), else the table's `other` code with these words as its text (never a made-up code)",
      ),
    cancellationReason: cancellationReason
      .optional()
      .describe(
        "The coded reason every changed visit carries: one of the EHR mapping profile's reasons " +
          "(appointment.yaml `codes.cancellationReason`, call-center value or the EHR's code, any case). " +
          'Anything else is refused with 422 VALIDATION whose `acceptedReasons` lists them; nothing starts.',
      ),
    callback: z
      .object({
        priority: z.enum(CALLBACK_PRIORITIES as unknown as [CallbackPriority, ...CallbackPriority[]], {
          error: `must be one of ${CALLBACK_PRIORITIES.join(', ')}`,
        }),
        window: z
          .object({ start: instant, end: instant })
          .strict()
          .refine((w) => Date.parse(w.end) > Date.parse(w.start), {
            path: ['end'],
            message: 'must be after start',
          })
          .optional()
          .describe(
            'Given to every patient as is, taking no place in the callback windows; absent: each patient ' +
              'takes a place in the next callback window with room (`callbacks.windows`)',
          ),
      })
      .strict(),
    dryRun: flag.optional(),
    connection: z.string().trim().min(1).max(64).optional(),
    activationId: z.string().trim().min(1).max(64).optional(),
  })
  .strict()
  .refine((c) => Date.parse(c.to) > Date.parse(c.from), { path: ['to'], message: 'must be after from' })
  .refine((c) => Date.parse(c.to) - Date.parse(c.from) <= MAX_WINDOW_DAYS * DAY_MS, {
    path: ['to'],
    message: `must be at most ${MAX_WINDOW_DAYS} days after from`,
  })
  .refine((c) => c.mode === undefined || c.action === 'convert-to-virtual', {
    path: ['mode'],
    message: 'applies only to the convert-to-virtual action',
  });

export const closureListQuery = z
  .object({
    status: z.enum(['finding', 'running', 'completed', 'stopped', 'failed']).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();
