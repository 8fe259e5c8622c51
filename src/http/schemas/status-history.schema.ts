/** Query of GET /v1/status/history. */
import { z } from 'zod';

export const statusHistoryQuery = z
  .object({
    connection: z.string().optional(),
    /** The history keeps an hour. */
    minutes: z.coerce.number().int().min(1).max(60).default(60),
  })
  .strict();
