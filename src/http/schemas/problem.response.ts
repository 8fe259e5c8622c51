/** problem+json (RFC 9457) as src/http/problem.ts renders it; for the OpenAPI document and tests only. */
import { z } from 'zod';
import { errorCodeSchema } from './receipt.response';

export const problemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: errorCodeSchema,
    retryable: z.boolean(),
    requestId: z.string().optional(),
    instance: z.string().optional(),
    retryAfterSeconds: z.number().optional(),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('VALIDATION: each field and what is wrong with it; never the value sent'),
    requiredScope: z.string().optional().describe('FORBIDDEN: a scope that would open the route'),
    acceptedReasons: z
      .array(z.string())
      .optional()
      .describe(
        "VALIDATION (422): the cancellation reasons the EHR's mapping profile accepts, when the one sent is not among them",
      ),
  })
  .describe('An error; `code` is stable, `retryable` says whether the same request may succeed later.');
