/** Answers of probes and GET /v1/status; for the OpenAPI document and tests only. */
import { DRAIN_LIMIT_CHANGES } from '../../domain/drain-limit';
import { z } from 'zod';
import type { StatusHistory } from '../../use-cases/status-history';
import type { StorageStatus } from '../../use-cases/storage-status';
import type { MappingStatus } from '../../use-cases/mapping-status';
import type { Conforms } from './conforms';
import { subscriberSchema } from './operations.response';

export const healthSchema = z.object({ status: z.literal('ok') });

const connectionHealth = z.looseObject({
  reachable: z.boolean(),
  checkedAt: z.string(),
  breaker: z.string().optional(),
  state: z.string().optional().describe('up, recovering, ehr-unavailable, credentials-rejected'),
  degraded: z.boolean().optional(),
});

export const readinessSchema = z.object({
  ready: z.boolean(),
  shuttingDown: z.boolean(),
  redis: z.enum(['up', 'down']),
  degradedConnections: z.array(z.string()),
  connections: z.record(z.string(), connectionHealth),
});

const storage = z.object({
  usedBytes: z.number(),
  limitBytes: z.number().nullable(),
  headroomBytes: z.number().nullable(),
  reservedBytes: z.number().nullable(),
  acceptingWrites: z.boolean(),
  queuedWrites: z.number().int(),
  queuedWritesCap: z.number().int().nullable(),
  readAt: z.string().nullable(),
});

/** Each connection's pipeline; loose, since it grows with what operators are shown. */
const connectionStatus = z.looseObject({
  breaker: z.looseObject({ state: z.enum(['closed', 'open', 'half-open']) }),
  credentials: z.looseObject({ state: z.string() }),
  queue: z.object({
    queued: z.number().int(),
    sending: z.number().int(),
    failed: z.number().int(),
    needsReview: z.number().int(),
    oldestPendingAgeSeconds: z.number().nullable(),
    pending: z
      .object({ urgent: z.number().int(), routine: z.number().int() })
      .describe('Writes queued or being sent, by urgency'),
    lanesWaiting: z
      .object({ urgent: z.number().int(), routine: z.number().int() })
      .describe(
        'Lanes whose next write waits for the drain, by the urgency it is served at (a lane holding an urgent write is served as urgent; urgent lanes are served first)',
      ),
  }),
  drain: z.object({
    perSecond: z.number(),
    etaSeconds: z.number().nullable(),
    limit: z
      .object({
        limit: z
          .number()
          .describe('Writes sent to the EHR at once at most, as found from its latency and throttling'),
        inFlight: z.number().int().describe('Writes holding a permit now, in every worker process'),
        baselineMs: z.number().optional().describe("The EHR's usual answer time the limit is judged against"),
        pausedUntil: z.string().optional().describe("Set while the EHR's Retry-After holds every write back"),
        lastChange: z.enum(DRAIN_LIMIT_CHANGES).optional(),
      })
      .nullable()
      .describe('The adaptive drain limit; null where `drain.adaptive` is off'),
  }),
});

const profileVersion = z.object({
  name: z.string(),
  hash: z.string(),
  since: z.string().describe('When this version became the running one'),
});

export const profileReloadOutcomeSchema = z
  .object({
    ok: z.boolean().describe('false: nothing changed; the running versions stay, `problems` says why'),
    trigger: z.enum(['start', 'signal', 'file-change', 'api']),
    at: z.string(),
    profiles: z.array(profileVersion.extend({ changed: z.boolean() })),
    problems: z.array(z.string()).describe('Load, fixture and sample problems, with file and field'),
  })
  .describe('A reload of the mapping profiles (start-up, SIGHUP, a file change or POST /v1/mappings/reload)');

const mappings = z
  .object({
    profiles: z.array(profileVersion).describe('The running mapping profile versions'),
    lastReload: profileReloadOutcomeSchema.nullable(),
    emptyFields: z
      .array(
        z.object({
          connection: z.string(),
          profile: z.string(),
          hash: z.string(),
          field: z.string().describe('The model field, e.g. `mrn`, `appointment.location`'),
          file: z.string(),
          rule: z.string(),
          sampled: z.number().int().describe('Records sampled; the field was empty on all of them'),
        }),
      )
      .describe(
        'Read fields empty on every record sampled from the EHR at start-up or the last reload (`mappings.sampleRecords`): a profile that may not match the EHR',
      ),
  })
  .describe("The mapping profiles of the caller's connections");

export const pipelineStatusSchema = z.object({
  connections: z.record(z.string(), connectionStatus),
  subscribers: z.array(subscriberSchema),
  storage,
  mappings,
});

export const mappingStatusConforms: Conforms<MappingStatus, typeof mappings> = true;

export const storageConforms: Conforms<StorageStatus, typeof storage> = true;

/** GET /v1/status/history: one connection's samples, oldest first. */
export const statusHistorySchema = z.object({
  connection: z.string(),
  intervalMs: z.number().int().describe('How often the gateway samples (`statusHistory.intervalMs`)'),
  from: z.string().describe('The start of the window returned'),
  samples: z.array(
    z.object({
      at: z.number().int().describe('Start of the sampling interval, epoch milliseconds'),
      backlog: z.number().int().describe('Writes queued or being sent'),
      failed: z.number().int(),
      needsReview: z.number().int(),
      drainPerSecond: z.number().describe('Writes finished per second over the minute before'),
      breaker: z.enum(['closed', 'open', 'half-open']),
    }),
  ),
});
export const statusHistoryConforms: Conforms<StatusHistory, typeof statusHistorySchema> = true;
