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

export const replayBody = z
  .object({
    status: z
      .preprocess(
        (v) => (typeof v === 'string' ? [v] : v),
        z.array(z.enum(['failed', 'needs-review'])).min(1),
      )
      .default(['failed']),
    connection: z.string().optional(),
    since: isoDate.optional(),
    limit: z.coerce.number().int().min(1).max(10000).default(1000),
    dryRun: flag.default(false),
    /** Operations re-queued per second. */
    ratePerSecond: z.coerce.number().min(0.1).max(1000).default(10),
  })
  .strict();
