/** Query of GET /v1/audit. */
import { z } from 'zod';
import { FHIR_ID } from '../../domain/fhir';

const isoDate = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with offset' });

export const auditQuery = z
  .object({
    /** `pat-1` or `Patient/pat-1`. */
    patient: z
      .string()
      .transform((v) => v.replace(/^Patient\//, ''))
      .pipe(z.string().regex(FHIR_ID, 'must be a patient id'))
      .optional(),
    client: z.string().min(1).max(200).optional(),
    agent: z.string().min(1).max(128).optional(),
    since: isoDate.optional(),
    until: isoDate.optional(),
    cursor: z.string().max(2000).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();
