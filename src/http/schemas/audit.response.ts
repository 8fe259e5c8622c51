/** The answer of GET /v1/audit; for the OpenAPI document and tests only. */
import { z } from 'zod';
import type { AuditSearchResult } from '../../use-cases/audit-search';
import type { Conforms } from './conforms';

export const auditPageSchema = z.object({
  count: z.number().int(),
  auditEvents: z
    .array(z.looseObject({ resourceType: z.literal('AuditEvent') }))
    .describe('FHIR R4 AuditEvent resources, newest first'),
  next: z.string().optional().describe('Pass as `cursor` for the next page; absent on the last'),
});

export const auditPageConforms: Conforms<
  Omit<AuditSearchResult, 'auditEvents'>,
  ReturnType<typeof auditPageSchema.omit<{ auditEvents: true }>>
> = true;
