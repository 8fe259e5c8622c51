/** Answers of the site closure routes and of a patient's notices; for the OpenAPI document and tests. */
import { z } from 'zod';
import type { ClosureView } from '../../use-cases/closure-progress';
import type { PatientNotices } from '../../use-cases/patient-notices';
import type { DryRun } from '../../use-cases/site-closure';
import type { Conforms } from './conforms';

const tally = z.object({
  total: z.number().int(),
  done: z.number().int(),
  failed: z.number().int().describe('Failed or needing review in the EHR, or refused when queued'),
  cancelled: z.number().int().describe('Cancelled by the stop switch, or never queued because of it'),
  remaining: z.number().int(),
});

export const closureDryRunSchema = z
  .object({
    dryRun: z.literal(true),
    appointments: z.number().int(),
    patients: z.number().int(),
    timeZone: z
      .literal('as-written')
      .describe(
        "`byDay` dates are each visit's local date, as the EHR wrote its start with the clinic's offset",
      ),
    byDay: z.array(z.object({ date: z.string(), count: z.number().int() })),
    byLocation: z.array(
      z.object({ location: z.string(), name: z.string().nullable(), count: z.number().int() }),
    ),
    byPractitioner: z.array(
      z.object({
        practitioner: z.string().describe('`Practitioner/<id>`, or `none`'),
        count: z.number().int(),
      }),
    ),
    patientRefs: z.array(z.string()),
    appointmentRefs: z.array(z.string()),
  })
  .describe('What the closure would change: nothing was changed.');

export const closureSchema = z.object({
  id: z.string().describe('`clo_` and 24 hex digits; the same closure submitted again has the same id'),
  status: z.enum(['finding', 'running', 'completed', 'stopped', 'failed']),
  action: z.enum(['cancel', 'convert-to-virtual', 'hold-for-reschedule']),
  mode: z.enum(['video', 'phone']).nullable(),
  connection: z.string(),
  locations: z.array(z.string()),
  from: z.string(),
  to: z.string(),
  activationId: z.string().nullable(),
  appointments: tally,
  callbacks: tally
    .extend({
      unscheduled: z
        .number()
        .int()
        .describe(
          'Queued without a callback window: every window in `callbacks.windows.searchDays` was full',
        ),
    })
    .describe('One per affected patient'),
  percent: z.number(),
  ratePerMinute: z.number().describe('Writes finished per minute since the first was queued'),
  eta: z.string().nullable().describe('When the rest should be finished at that rate'),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  stoppedAt: z.string().nullable(),
});

export const closureListSchema = z.object({
  count: z.number().int(),
  closures: z.array(closureSchema).describe("The tenant's closures, newest first"),
});

export const patientNoticesSchema = z.object({
  patientId: z.string(),
  timeZone: z
    .literal('as-written')
    .describe(
      "Times in `text` are each visit's local time as the EHR wrote it; a callback window Continuum chose is in the callback windows' time zone; UTC is said when a time is in UTC",
    ),
  notices: z.array(
    z.object({
      kind: z.enum(['visit-converted', 'visit-cancelled', 'visit-held', 'callback-scheduled']),
      appointmentId: z.string().nullable(),
      start: z.string().nullable(),
      mode: z.string().nullable(),
      text: z.string().describe('A sentence for a person or a text-to-speech engine'),
      state: z.enum(['pending', 'done', 'failed']),
      closureId: z.string(),
      ehrStatus: z.string().nullable(),
      callbackStart: z
        .string()
        .nullable()
        .describe('Callback notices: when the callback window opens; null when no window could be given'),
      callbackEnd: z.string().nullable().describe('Callback notices: when the callback window closes'),
    }),
  ),
  freshness: z.object({ source: z.enum(['ehr', 'cache']), asOf: z.string() }),
});

export const closureDryRunConforms: Conforms<DryRun, typeof closureDryRunSchema> = true;
export const closureConforms: Conforms<ClosureView, typeof closureSchema> = true;
export const patientNoticesConforms: Conforms<PatientNotices, typeof patientNoticesSchema> = true;
