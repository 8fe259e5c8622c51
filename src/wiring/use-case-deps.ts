/**
 * Everything the use cases need, built from the configuration and a Redis: the gateway, the CLI
 * and tests share this, so a use case runs the same without HTTP, workers or timers around it.
 */
import { createRedisActivationStore } from '../../adapters/redis/activation-store';
import { createRedisAttemptLimiter } from '../../adapters/redis/attempt-limiter';
import { createRedisCallbackBook } from '../../adapters/redis/callback-book';
import { createRedisClosureStore } from '../../adapters/redis/closure-store';
import { createBullClosureRuns, type BullClosureRuns } from '../../queue/closure-queue';
import type { ClosureDeps } from '../use-cases/site-closure';
import { createDrainMeter, type DrainMeter } from '../../adapters/redis/drain-meter';
import { createRedisFinalSignals, finalStatusChannel } from '../../adapters/redis/final-signals';
import { createRedisNotificationLog } from '../../adapters/redis/notification-log';
import { createRedisOperationStore } from '../../adapters/redis/operation-store';
import { createRedisPatientHold } from '../../adapters/redis/patient-hold';
import { createRedisPhoneIndex } from '../../adapters/redis/phone-index';
import { createRedisReadCache } from '../../adapters/redis/read-cache';
import { createRecordCipher, loadOrCreateKey } from '../../adapters/redis/record-cipher';
import { createRedisConnection } from '../../adapters/redis/redis-connections';
import { createRedisSlotHolds } from '../../adapters/redis/slot-holds';
import { createRedisMappingVersionStore } from '../../adapters/redis/mapping-version-store';
import { createRedisStatusHistory } from '../../adapters/redis/status-history';
import { createBullNotificationQueue, type BullNotificationQueue } from '../../queue/notification-queue';
import { createBullWriteQueue, type BullWriteQueue } from '../../queue/write-queue';
import type { DrainLimiter } from '../domain/drain-limit';
import type { EventDelivery } from '../../queue/event-delivery';
import type { Config } from '../config/load-config';
import type { ConnectionCredentials } from '../domain/connection-credentials';
import type { CallCenterEvent } from '../domain/events';
import { NO_METRICS, type Metrics } from '../domain/metrics';
import type { CircuitBreaker, Clock, Logger } from '../domain/ports';
import type { StatusHistoryStore } from '../domain/status-history';
import type { RateLimitDeps } from '../http/rate-limit';
import type { UseCaseDeps } from '../use-cases/use-case-deps';
import type { Closeables } from './closeables';
import { buildConnections } from './connections';
import type { EhrCredentialsWiring } from './ehr-credentials';
import type { EhrKeyRing } from '../../adapters/ehr/oauth/ehr-key-ring';
import { buildEventDelivery } from './event-delivery';
import { buildRateLimits } from './rate-limits';
import type { RedisWiring } from './redis';
import { buildAudit, type AuditWiring } from './audit';
import { buildStorageLimits } from './storage';
import { createMappingCatalog, type MappingCatalogWiring } from './mapping-catalog';
import { connectionSampler } from './mapping-sampler';

export interface UseCaseRuntime {
  readonly deps: UseCaseDeps;
  /** The running mapping profiles: reloads, and the sample of real records at start-up. */
  readonly mappingCatalog: MappingCatalogWiring;
  readonly breakers: ReadonlyMap<string, CircuitBreaker>;
  /** Each connection's adaptive drain limit (absent where it is switched off). */
  readonly drainLimits: ReadonlyMap<string, DrainLimiter>;
  /** Per connection: whether its EHR accepts its credentials (see connection-credentials.ts). */
  readonly credentials: ReadonlyMap<string, ConnectionCredentials>;
  readonly writeQueue: BullWriteQueue;
  readonly notificationQueue: BullNotificationQueue;
  readonly eventDelivery: EventDelivery;
  readonly drainMeter: DrainMeter;
  /** Samples of each connection's pipeline over the last hour (the console's chart). */
  readonly statusHistory: StatusHistoryStore;
  readonly audit: AuditWiring;
  /** Request budgets per client and scanning detection, for the API. */
  readonly rateLimits: RateLimitDeps;
  /** EHR sign-in: SIGHUP reloads through it; `onCredentialsChanged` is the hook for the connection state. */
  readonly ehrCredentials: EhrCredentialsWiring;
  /** Site closures: their records, the queue of their runs, and the use cases' view of both. */
  readonly closures: { readonly deps: ClosureDeps; readonly runs: BullClosureRuns };
}

export interface UseCaseDepsOptions {
  readonly logger: Logger;
  /** The port of the gateway that serves the built-in sandbox EHR (for connections without a URL). */
  readonly sandboxPort: number;
  /** Where the queues' closing is registered. */
  readonly closeables: Closeables;
  readonly clock?: Clock;
  /** The process's EHR signing keys (also published in the JWKS); opened here when absent. */
  readonly ehrKeyRing?: EhrKeyRing;
  /** Where EHR calls, cache fallbacks, deliveries, verifications and audit records are counted. */
  readonly metrics?: Metrics;
}

export async function buildUseCaseDeps(
  config: Config,
  redis: RedisWiring,
  options: UseCaseDepsOptions,
): Promise<UseCaseRuntime> {
  const { logger, closeables } = options;
  const metrics = options.metrics ?? NO_METRICS;
  const { client, producer, prefix } = redis;
  const key = loadOrCreateKey(config.encryption.key, config.dataDir);
  const cipher = createRecordCipher(key);
  const audit = buildAudit(config, {
    client,
    producer,
    prefix,
    key,
    blind: (value) => cipher.blind(value),
    logger,
    closeables,
    metrics,
  });

  // Events and connections need each other: breakers publish, platform deliverers read Tasks.
  let connections: UseCaseDeps['connections'] = new Map();
  const eventDelivery = buildEventDelivery(config, {
    connection: producer,
    prefix,
    logger,
    metrics,
    connections: () => connections,
  });
  closeables.add('queues', 'event queues', () => eventDelivery.close());
  const publish = (event: CallCenterEvent): void => {
    eventDelivery.publish(event).catch((error: unknown) => {
      logger.error({ err: error, eventId: event.id, type: event.type }, 'event not published');
    });
  };
  // Before the connections: each one's `mapping` is its profile's running version in the catalog.
  const mappingVersions = createRedisMappingVersionStore({ redis: client, prefix, cipher });
  const mappingCatalog = createMappingCatalog(config, { store: mappingVersions, logger });
  await mappingCatalog.start();
  const wired = await buildConnections(config, {
    mappingCatalog,
    redis: client,
    prefix,
    logger,
    sandboxPort: options.sandboxPort,
    publish,
    cipher,
    closeables,
    metrics,
    ...(options.ehrKeyRing !== undefined ? { ehrKeyRing: options.ehrKeyRing } : {}),
  });
  connections = wired.connections;
  mappingCatalog.useSampler(connectionSampler(config, wired.connections, logger));

  const writeQueue = createBullWriteQueue({
    connection: producer,
    prefix,
    enqueueTimeoutMs: config.queue.enqueueTimeoutMs,
    connections: [...connections.keys()],
  });
  closeables.add('queues', 'write queues', () => writeQueue.close());
  const notificationQueue = createBullNotificationQueue({
    connection: producer,
    prefix,
    enqueueTimeoutMs: config.queue.enqueueTimeoutMs,
  });
  closeables.add('queues', 'notification queue', () => notificationQueue.close());

  const drainMeter = createDrainMeter(client, prefix);
  const finalSignals = createRedisFinalSignals({
    connect: () => createRedisConnection(redis.target, 'subscriber', 'final-signals'),
    channel: finalStatusChannel(prefix),
    subscribeDeadlineMs: 1000,
    logger,
  });
  closeables.add('redis', 'final-status subscriber', () => finalSignals.close());

  const closureStore = createRedisClosureStore({
    redis: client,
    prefix,
    cipher,
    retentionSeconds: Math.round(config.queue.retentionDays * 86400),
  });
  const deps: UseCaseDeps = {
    connections,
    mappingCatalog,
    mappingVersions,
    defaultConnection: config.defaultConnection,
    store: createRedisOperationStore({
      redis: client,
      // No offline queue on the accept path: an insert must never run after its 503 was answered.
      acceptRedis: producer,
      prefix,
      cipher,
      retentionSeconds: Math.round(config.queue.retentionDays * 86400),
      finalChannel: finalStatusChannel(prefix),
    }),
    finalSignals,
    queue: writeQueue,
    drain: drainMeter,
    phoneIndex: createRedisPhoneIndex({ redis: client, prefix, cipher, ttlSeconds: 90 * 86400 }),
    readCache: createRedisReadCache({
      redis: client,
      prefix,
      cipher,
      ttlSeconds: Math.round(config.cache.ttlHours * 3600),
    }),
    attemptLimiter: createRedisAttemptLimiter({
      redis: client,
      prefix,
      cipher,
      maxFailedAttempts: config.verify.maxFailedAttempts,
      windowMs: config.verify.windowMinutes * 60_000,
    }),
    patientHold: createRedisPatientHold({
      redis: client,
      prefix,
      cipher,
      maxFailedAttempts: config.verify.patientHold.maxFailedAttempts,
      windowMs: config.verify.patientHold.windowSeconds * 1000,
      holdMs: config.verify.patientHold.holdSeconds * 1000,
    }),
    slotHolds: createRedisSlotHolds({ redis: client, prefix }),
    notificationLog: createRedisNotificationLog({ redis: client, prefix }),
    events: eventDelivery,
    notifications: notificationQueue,
    storage: await buildStorageLimits(config, client, logger, closeables),
    clock: options.clock ?? { now: () => new Date() },
    logger,
    enqueueTimeoutMs: config.queue.enqueueTimeoutMs,
    audit: audit.store,
    activations: createRedisActivationStore({ redis: client, prefix }),
    callbackWindows: config.callbacks.windows,
    callbackBook: createRedisCallbackBook({ redis: client, prefix }),
    metrics,
    closedSites: closureStore,
  };
  const closureRuns = createBullClosureRuns({
    connection: producer,
    prefix,
    enqueueTimeoutMs: config.queue.enqueueTimeoutMs,
  });
  closeables.add('queues', 'closure queue', () => closureRuns.close());
  const closureDeps: ClosureDeps = {
    ...deps,
    closures: closureStore,
    closureRuns,
  };
  return {
    deps,
    mappingCatalog,
    closures: { deps: closureDeps, runs: closureRuns },
    audit,
    breakers: wired.breakers,
    drainLimits: wired.drainLimits,
    credentials: wired.credentials,
    ehrCredentials: wired.ehrCredentials,
    writeQueue,
    notificationQueue,
    eventDelivery,
    drainMeter,
    statusHistory: createRedisStatusHistory({ redis: client, prefix }),
    rateLimits: {
      ...buildRateLimits(config, {
        redis: client,
        prefix,
        cipher,
        events: eventDelivery,
        logger,
        clock: deps.clock,
      }),
      metrics,
    },
  };
}
