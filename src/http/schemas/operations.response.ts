/** Answers of replays and event subscribers; for the OpenAPI document and tests only. */
import { z } from 'zod';
import type { SubscriberStatus } from '../../domain/ports';
import type { ReplayPlan, ReplayRun } from '../../use-cases/replay-operations';
import type { Conforms } from './conforms';

export const replayPlanSchema = z
  .object({
    dryRun: z.literal(true),
    count: z.number().int(),
    operations: z.array(
      z.object({
        operationId: z.string(),
        kind: z.string(),
        patientId: z.string().nullable(),
        status: z.string(),
        lastErrorCode: z.string().nullable(),
        attempts: z.number().int(),
      }),
    ),
    duplicateRisk: z.object({ count: z.number().int(), note: z.string() }),
  })
  .describe('What a replay would re-send (`dryRun`, the default): nothing was sent.');

export const replayRunSchema = z.object({
  replayId: z.string(),
  state: z.enum(['running', 'stopped', 'finished']),
  total: z.number().int(),
  requeued: z.number().int(),
  skipped: z.number().int(),
  ratePerSecond: z.number(),
  startedAt: z.string(),
});

export const replayRunListSchema = z.object({
  count: z.number().int(),
  runs: z.array(replayRunSchema).describe('Runs started by the API process that answered, newest first'),
});

export const subscriberSchema = z.object({
  name: z.string(),
  disabled: z
    .object({ at: z.string(), reason: z.string() })
    .optional()
    .describe('Set once the subscriber answered 410 Gone'),
  waiting: z.number().int(),
  deadLetters: z.number().int(),
});

export const subscriberListSchema = z.object({ subscribers: z.array(subscriberSchema) });

export const subscriberReplaySchema = z.object({
  subscriber: z.string(),
  requeued: z.number().int(),
  enabled: z.literal(true),
});

export const replayPlanConforms: Conforms<ReplayPlan & { dryRun: true }, typeof replayPlanSchema> = true;
export const replayRunConforms: Conforms<ReplayRun, typeof replayRunSchema> = true;
export const subscriberConforms: Conforms<SubscriberStatus, typeof subscriberSchema> = true;
