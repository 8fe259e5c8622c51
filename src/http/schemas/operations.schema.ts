/** Query and body shapes of /v1/operations. */
import { z } from 'zod';
import { FHIR_ID } from '../../domain/fhir';
import { OPERATION_STATUSES } from '../../domain/operation';

const isoDate = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with offset' });

export const listOperationsQuery = z
  .object({
    status: z.enum(OPERATION_STATUSES, 'must be one of ' + OPERATION_STATUSES.join(', ')),
    since: isoDate.optional(),
    patient: z.string().regex(FHIR_ID, 'must be a FHIR id').optional(),
    connection: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

const flag = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/**
 * A replay re-sends writes to the EHR, so it says what it is about (a status, a time, a
 * connection, or `all: true`) and only looks unless told `dryRun: false`: an empty body must not
 * re-send a thousand writes.
 */
export const replayBody = z
  .object({
    status: z
      .preprocess(
        (v) => (typeof v === 'string' ? [v] : v),
        z.array(z.enum(['failed', 'needs-review'])).min(1),
      )
      .optional(),
    connection: z.string().optional(),
    since: isoDate.optional(),
    /** Every failed and needs-review write, in place of a filter. */
    all: flag.optional(),
    limit: z.coerce.number().int().min(1).max(10000).default(1000),
    dryRun: flag.default(true),
    /** Operations re-queued per second. */
    ratePerSecond: z.coerce.number().min(0.1).max(1000).default(10),
  })
  .strict()
  .superRefine((body, ctx) => {
    const filtered = body.status !== undefined || body.connection !== undefined || body.since !== undefined;
    if (body.all === true && filtered) {
      ctx.addIssue({ code: 'custom', path: ['all'], message: 'replays everything: give it without filters' });
    } else if (body.all !== true && !filtered) {
      ctx.addIssue({
        code: 'custom',
        message: 'name what to replay: status, since or connection, or all: true',
      });
    }
  });
