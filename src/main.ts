/**
 * The composition root: the only place that creates Redis connections, queues, workers, EHR
 * clients and the HTTP server, and the only place that knows every module. Everything else
 * receives what it needs as parameters.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import { checkRedisDurability } from '../adapters/redis/durability-check';
import { startEmbeddedRedis, type EmbeddedRedis } from '../adapters/redis/embedded-redis';
import { createRedisAttemptLimiter } from '../adapters/redis/attempt-limiter';
import { createRedisPhoneIndex } from '../adapters/redis/phone-index';
import { createRedisReadCache } from '../adapters/redis/read-cache';
import { createRedisSlotHolds } from '../adapters/redis/slot-holds';
import { createRedisNotificationLog } from '../adapters/redis/notification-log';
import { createBullNotificationQueue, createNotificationWorker } from '../queue/notification-queue';
import { processEhrNotification } from './use-cases/process-ehr-notification';
import { delivererFor } from '../adapters/callcenter/deliverers';
import { createEventDelivery } from '../queue/event-delivery';
import type { CallCenterEvent } from './domain/events';
import { ContinuumError } from './domain/errors';
import type { Task } from './domain/fhir';
import { breakerEvent } from './use-cases/call-center-events';
import { createRecordCipher, loadOrCreateKey } from '../adapters/redis/record-cipher';
import { createRedisConnection, targetFromUrl } from '../adapters/redis/redis-connections';
import { createFhirR4Client } from '../adapters/ehr/fhir-r4/fhir-r4-client';
import { createSandboxEhr, type SandboxEhr } from '../adapters/ehr/sandbox';
import { createCircuitBreaker, type CircuitBreaker } from '../queue/circuit-breaker';
import { createDrainMeter } from '../queue/drain-meter';
import { createRedisOperationStore } from '../adapters/redis/operation-store';
import { createBullWriteQueue, type BullWriteQueue } from '../queue/write-queue';
import { createWriteWorker } from '../queue/write.worker';
import type { Config } from './config/load-config';
import type { Logger } from './domain/ports';
import { createApp } from './http/app';
import { loadMappingProfile } from './mapping';
import type { MappingProfile } from './mapping/mapping-profile';
import { createLogger } from './observability/logger';
import { createPhoneSearchValue, type CountryCode } from './phone';
import { giveUpOperation } from './use-cases/give-up-operation';
import { processOperation } from './use-cases/process-operation';
import { ReplayRegistry } from './use-cases/replay-operations';
import { sweepLanes } from './use-cases/sweep-lanes';
import { warmCache, WARMUP_MAX_PATIENTS, type WarmupResult } from './use-cases/warm-cache';
import { createConfirmedPatients } from './use-cases/confirmed-patients';
import { withDeadline } from './domain/with-deadline';
import type { ConnectionContext, UseCaseDeps } from './use-cases/use-case-deps';

export type Role = 'all' | 'api' | 'worker';

export interface GatewayOptions {
  readonly config: Config;
  readonly role: Role;
  /** Tests capture logs here; production writes JSON lines to stdout. */
  readonly logDestination?: DestinationStream;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly logger: Logger;
  readonly redisTarget: unknown;
  /**
   * Warm the continuity cache for one connection now (default: `defaultConnection`), unless another
   * run holds its lock: workers do this on a schedule; this is the operator's (and tests') hook.
   */
  warmCache(connection?: string): Promise<WarmupRun>;
  /** Graceful stop: HTTP first, then workers (in-flight jobs finish), queues, Redis, embedded Redis last. */
  close(): Promise<void>;
}

/** A warm-up run, or `locked` when another run (any process) holds the connection's lock. */
export type WarmupRun = ({ readonly locked: false } & WarmupResult) | { readonly locked: true };

/** Workers warm the cache this long after start, then every `cache.warmup.intervalMinutes`. */
const FIRST_WARMUP_DELAY_MS = 30_000;

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolveListen(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolveClose) => {
    server.close(() => {
      resolveClose();
    });
    // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
    server.closeIdleConnections();
  });
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, role } = options;
  const logger = createLogger({
    level: config.logging.level,
    destination: options.logDestination,
    base: { role },
  });
  const cleanups: (() => Promise<void>)[] = [];
  const runCleanups = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
      });
    }
  };

  try {
    let embedded: EmbeddedRedis | undefined;
    const redisTarget = config.redis.url !== undefined ? targetFromUrl(config.redis.url) : undefined;
    if (redisTarget === undefined) {
      embedded = await startEmbeddedRedis({ dataDir: config.dataDir, binary: config.redis.binary, logger });
      const stopEmbedded = embedded;
      cleanups.push(() => stopEmbedded.stop());
    }
    const target = redisTarget ?? embedded?.target;
    if (target === undefined) throw new StartupError('no Redis target');

    const redis = createRedisConnection(target, 'client', 'client');
    const producer = createRedisConnection(target, 'producer', 'producer');
    const workerRedis = createRedisConnection(target, 'worker', 'worker');
    for (const connection of [redis, producer, workerRedis]) {
      connection.on('error', (error: Error) => {
        logger.warn({ err: error }, 'redis connection error');
      });
    }
    cleanups.push(async () => {
      await Promise.all(
        [redis, producer, workerRedis].map((c: Redis) =>
          c.quit().catch(() => {
            c.disconnect();
          }),
        ),
      );
    });
    await redis.ping().catch((error: unknown) => {
      throw new StartupError(`Redis did not answer: ${(error as Error).message}`);
    });
    const durability = await checkRedisDurability(redis, config.redis.requireDurability);
    if (durability.problems.length > 0) throw new StartupError(durability.problems.join(' '));
    if (durability.appendonly === false) {
      logger.warn(
        {},
        'Redis persistence is off (redis.requireDurability: false): a Redis restart loses queued writes',
      );
    }

    const cipher = createRecordCipher(loadOrCreateKey(config.encryption.key, config.dataDir));
    const prefix = `{${config.redis.keyPrefix}}`;
    const store = createRedisOperationStore({
      redis,
      acceptRedis: producer,
      prefix,
      cipher,
      retentionSeconds: Math.round(config.queue.retentionDays * 86400),
    });
    const phoneIndex = createRedisPhoneIndex({ redis, prefix, cipher, ttlSeconds: 90 * 86400 });
    const readCache = createRedisReadCache({
      redis,
      prefix,
      cipher,
      ttlSeconds: Math.round(config.cache.ttlHours * 3600),
    });
    const attemptLimiter = createRedisAttemptLimiter({
      redis,
      prefix,
      cipher,
      maxFailedAttempts: config.verify.maxFailedAttempts,
      windowMs: config.verify.windowMinutes * 60_000,
    });

    // HTTP listens before the EHR clients exist: the sandbox connection's URL needs the port.
    let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
      res.end(JSON.stringify({ title: 'Starting', status: 503, code: 'NOT_READY', retryable: true }));
    };
    const server = createServer((req, res) => {
      handler(req, res);
    });
    server.keepAliveTimeout = 65_000;
    const port = await listen(server, config.server.port, config.server.host);
    const localHost =
      config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
    const url = `http://${localHost}:${port}`;
    let shuttingDown = false;
    cleanups.push(() => closeServer(server));

    let sandbox: SandboxEhr | undefined;
    if (config.sandbox.enabled && role !== 'worker') {
      sandbox = await createSandboxEhr({
        seed: config.sandbox.seed,
        patientCount: config.sandbox.patientCount,
        logger: logger.child({ component: 'sandbox' }),
      });
      const stopSandbox = sandbox;
      cleanups.push(() => stopSandbox.close());
    }

    // Call-center events: one delivery queue per configured subscriber.
    const eventDelivery = createEventDelivery({
      connection: producer,
      prefix,
      subscribers: config.events.subscribers.map((subscriber) => ({
        name: subscriber.name,
        types: subscriber.types,
        deliverer: delivererFor(subscriber, {
          // Callback numbers and windows are not in events: platform deliverers read the Task.
          readTask: (connectionName, taskId) => {
            const context = connections.get(connectionName);
            if (context === undefined) {
              // A connection removed from the configuration will not come back: dead-letter the event.
              throw new ContinuumError('NOT_FOUND', { detail: `no EHR connection ${connectionName}` });
            }
            return context.ehr.read<Task>('Task', taskId, { deadlineMs: context.readDeadlineMs });
          },
        }),
      })),
      logger,
    });
    cleanups.push(() => eventDelivery.close());
    const publish = (event: CallCenterEvent): void => {
      eventDelivery.publish(event).catch((error: unknown) => {
        logger.error({ err: error, eventId: event.id, type: event.type }, 'event not published');
      });
    };

    const breakers = new Map<string, CircuitBreaker>();
    for (const connection of Object.values(config.connections)) {
      breakers.set(
        connection.name,
        createCircuitBreaker({
          redis,
          prefix,
          connection: connection.name,
          failureThreshold: connection.breaker.failureThreshold,
          probeIntervalMs: connection.breaker.probeIntervalMs,
          logger,
          // Only the process whose failure or success changed the state is told: one event each.
          onTransition: (state) => {
            if (state === 'half-open') return;
            publish(breakerEvent(connection.name, state, new Date().toISOString()));
          },
        }),
      );
    }
    const profiles = new Map<string, MappingProfile>();
    const breakerNote = async (update: Promise<void> | undefined): Promise<void> => {
      if (update === undefined) return;
      await withDeadline(update, 250, 'the circuit breaker').catch((error: unknown) => {
        logger.warn({ err: error }, 'circuit breaker not updated');
      });
    };
    const connections = new Map<string, ConnectionContext>();
    for (const connection of Object.values(config.connections)) {
      let mapping = profiles.get(connection.mappingProfile);
      if (!mapping) {
        mapping = await loadMappingProfile(join(config.mappingsDir, connection.mappingProfile), {
          defaultRegion: config.phone.defaultRegion as CountryCode,
        });
        profiles.set(connection.mappingProfile, mapping);
      }
      const baseUrl =
        connection.baseUrl ??
        `http://127.0.0.1:${role === 'worker' ? config.server.port : port}/sandbox/fhir`;
      connections.set(connection.name, {
        name: connection.name,
        ehr: createFhirR4Client({
          connection: connection.name,
          baseUrl,
          auth: connection.auth,
          defaultDeadlineMs: connection.readDeadlineMs,
        }),
        mapping,
        readDeadlineMs: connection.readDeadlineMs,
        readDeadline: (read) => connection.readDeadlines[read] ?? connection.readDeadlineMs,
        writeTimeoutMs: connection.writeTimeoutMs,
        capabilities: connection.capabilities,
        phoneSearchValue: createPhoneSearchValue(config.phone.defaultRegion as CountryCode),
        confirmedPatients: createConfirmedPatients({
          ttlMs: connection.confirmedPatientTtlSeconds * 1000,
          maxEntries: 100000,
        }),
        ehrAvailable: () => breakers.get(connection.name)?.allowsRequests() ?? Promise.resolve(true),
        // Breaker bookkeeping must never fail or hold a read: a slow or failing Redis is logged and skipped.
        ehrAnswered: () => breakerNote(breakers.get(connection.name)?.recordSuccess()),
        ehrFailed: () => breakerNote(breakers.get(connection.name)?.recordFailure()),
      });
      logger.info(
        {
          connection: connection.name,
          sandbox: connection.sandbox,
          mappingProfile: mapping.name,
          mappingHash: mapping.hash,
        },
        'EHR connection configured',
      );
    }

    // Both roles produce jobs: the API for new writes, workers to wake the next write of a lane.
    const writeQueue: BullWriteQueue = createBullWriteQueue({
      connection: producer,
      prefix,
      enqueueTimeoutMs: config.queue.enqueueTimeoutMs,
      connections: [...connections.keys()],
    });
    cleanups.push(() => writeQueue.close());
    const notificationQueue = createBullNotificationQueue({ connection: producer, prefix });
    cleanups.push(() => notificationQueue.close());
    const useCases: UseCaseDeps = {
      connections,
      defaultConnection: config.defaultConnection,
      store,
      queue: writeQueue,
      phoneIndex,
      readCache,
      attemptLimiter,
      slotHolds: createRedisSlotHolds({ redis, prefix }),
      notificationLog: createRedisNotificationLog({ redis, prefix }),
      events: eventDelivery,
      notifications: notificationQueue,
      clock: { now: () => new Date() },
      logger,
      defaultRegion: config.phone.defaultRegion as CountryCode,
      enqueueTimeoutMs: config.queue.enqueueTimeoutMs,
    };

    // Cache warm-up: a Redis lock held for most of an interval makes one process per connection run
    // it per interval; a run stops at shutdown and before its lock runs out.
    const warmupIntervalMs = config.cache.warmup.intervalMinutes * 60_000;
    const warmupStop = new AbortController();
    const warmupsRunning = new Map<string, Promise<WarmupResult>>();
    const runWarmup = async (name: string): Promise<WarmupRun> => {
      const context = connections.get(name);
      if (!context) throw new Error(`no EHR connection named ${name}`);
      if (warmupsRunning.has(name) || warmupStop.signal.aborted) return { locked: true };
      const lockMs = Math.round(warmupIntervalMs * 0.9);
      const claimed = await redis.set(`${prefix}:warmup-lock:${name}`, randomUUID(), 'PX', lockMs, 'NX');
      if (claimed !== 'OK') return { locked: true };
      const now = Date.now();
      const run = warmCache(useCases, context, {
        days: config.cache.warmup.days,
        locations: config.cache.warmup.locations,
        maxPatients: WARMUP_MAX_PATIENTS,
        nextRunAt: new Date(now + warmupIntervalMs),
        deadline: new Date(now + lockMs),
        signal: warmupStop.signal,
      });
      warmupsRunning.set(name, run);
      try {
        return { locked: false, ...(await run) };
      } finally {
        warmupsRunning.delete(name);
      }
    };

    const drainMeter = createDrainMeter(redis, prefix);
    const monitor = {
      breaker: (name: string) => {
        const breaker = breakers.get(name);
        if (!breaker) throw new StartupError(`no breaker for ${name}`);
        return breaker.snapshot();
      },
      drainRate: (name: string) => drainMeter.ratePerSecond(name),
    };

    const replays = new ReplayRegistry();
    const workers: Worker[] = [];
    const timers: NodeJS.Timeout[] = [];
    if (role !== 'api') {
      for (const connection of Object.values(config.connections)) {
        const name = connection.name;
        const breaker = breakers.get(name);
        const context = connections.get(name);
        if (!breaker || !context) throw new StartupError(`connection ${name} is not wired`);
        const queue = writeQueue.queues.get(name);
        if (!queue) throw new StartupError(`no write queue for ${name}`);
        const worker = createWriteWorker({
          connectionName: name,
          redis: workerRedis,
          prefix,
          concurrency: config.queue.concurrency,
          maxWritesPerSecond: connection.maxWritesPerSecond,
          breaker,
          probeIntervalMs: connection.breaker.probeIntervalMs,
          pauseQueue: (ms) => queue.rateLimit(ms),
          process: (operationId) => processOperation(useCases, operationId),
          giveUp: (operationId) => giveUpOperation(useCases, operationId),
          onFinished: (outcome) => {
            if (outcome !== 'skipped') drainMeter.record(name);
          },
          logger: logger.child({ component: 'write-worker', connection: name }),
        });
        workers.push(worker);
        // The probe runs in every worker process; a Redis claim makes one of them probe at a time.
        const probe = setInterval(
          () => {
            breaker
              .probeIfDue(() => context.ehr.capabilities({ deadlineMs: 2000 }))
              .then(async () => {
                // Writes that failed before the breaker opened sit in backoff: recovered, send them now, oldest first.
                if ((await breaker.snapshot()).state === 'half-open') await queue.promoteJobs();
              })
              .catch((error: unknown) => {
                logger.warn({ err: error, connection: name }, 'breaker probe error');
              });
          },
          Math.max(250, Math.round(connection.breaker.probeIntervalMs / 4)),
        );
        const sweep = setInterval(() => {
          sweepLanes(useCases, name).catch((error: unknown) => {
            logger.warn({ err: error, connection: name }, 'lane sweep error');
          });
        }, config.queue.sweepIntervalMs);
        timers.push(probe, sweep);
        if (config.cache.warmup.enabled) {
          const warm = (): void => {
            runWarmup(name).catch((error: unknown) => {
              logger.warn({ err: error, connection: name }, 'cache warm-up error');
            });
          };
          // Cleared with the other timers (clearInterval clears a timeout too).
          timers.push(setTimeout(warm, FIRST_WARMUP_DELAY_MS), setInterval(warm, warmupIntervalMs));
        }
      }
      workers.push(...eventDelivery.workers({ redis: workerRedis, logger }));
      // EHR notifications: one queue for every connection; each job names its connection.
      workers.push(
        createNotificationWorker({
          redis: workerRedis,
          prefix,
          concurrency: 4,
          process: (notification) => processEhrNotification(useCases, notification),
          logger: logger.child({ component: 'notification-worker' }),
        }),
      );
      cleanups.push(async () => {
        for (const timer of timers) clearInterval(timer);
        warmupStop.abort();
        await Promise.all(workers.map((w) => w.close()));
      });
    }

    const probeCache = new Map<string, { reachable: boolean; checkedAt: string; at: number }>();
    const app = createApp({
      logger,
      bodyLimitBytes: config.server.bodyLimitBytes,

      ...(role !== 'worker'
        ? {
            api: {
              useCases,
              monitor,
              replays,
              events: eventDelivery,
              webhookSchemes: new Map(Object.values(config.connections).map((c) => [c.name, c.webhooks])),
            },
          }
        : {}),
      ...(sandbox ? { sandboxRouter: sandbox.router, sandboxAdminRouter: sandbox.adminRouter } : {}),
      health: {
        isShuttingDown: () => shuttingDown,
        redis: async () => {
          try {
            await Promise.race([
              redis.ping(),
              new Promise((_r, reject) => {
                setTimeout(() => {
                  reject(new Error('timeout'));
                }, 1000).unref();
              }),
            ]);
            return true;
          } catch {
            return false;
          }
        },
        ehr: async () => {
          const out: Record<string, { reachable: boolean; checkedAt: string }> = {};
          await Promise.all(
            [...connections.values()].map(async (c) => {
              const cached = probeCache.get(c.name);
              if (cached && Date.now() - cached.at < 5000) {
                out[c.name] = { reachable: cached.reachable, checkedAt: cached.checkedAt };
                return;
              }
              const reachable = await c.ehr.capabilities({ deadlineMs: 1500 }).then(
                () => true,
                () => false,
              );
              const checkedAt = new Date().toISOString();
              probeCache.set(c.name, { reachable, checkedAt, at: Date.now() });
              out[c.name] = { reachable, checkedAt };
            }),
          );
          const withBreakers: Record<string, { reachable: boolean; checkedAt: string; breaker: string }> = {};
          for (const [name, probe] of Object.entries(out)) {
            const breaker = breakers.get(name);
            withBreakers[name] = { ...probe, breaker: breaker ? (await breaker.snapshot()).state : 'closed' };
          }
          return withBreakers;
        },
      },
    });
    handler = app;
    logger.info(
      { url, role, redis: embedded ? 'embedded' : 'external', sandbox: Boolean(sandbox) },
      'Continuum is ready',
    );

    // `cleanups` (reverse order) only undoes a failed start-up. A graceful stop has its own,
    // explicit order: no new requests, in-flight jobs finish, then queues, Redis, embedded Redis.
    const step = async (what: string, run: () => Promise<unknown>): Promise<void> => {
      await run().catch((error: unknown) => {
        logger.error({ err: error, step: what }, 'error during shutdown');
      });
    };
    return {
      url,
      port,
      logger,
      redisTarget: target,
      warmCache: (name = config.defaultConnection) => runWarmup(name),
      close: async () => {
        shuttingDown = true;
        replays.stopAll();
        await step('http', () => closeServer(server));
        for (const timer of timers) clearInterval(timer);
        warmupStop.abort();
        await step('warm-ups', () => Promise.allSettled(warmupsRunning.values()));
        await step('workers', () => Promise.all(workers.map((w) => w.close())));
        await step('queues', () => writeQueue.close());
        await step('sandbox', () => sandbox?.close() ?? Promise.resolve());
        await step('redis', () => Promise.all([redis, producer, workerRedis].map((c) => c.quit())));
        await step('embedded redis', () => embedded?.stop() ?? Promise.resolve());
        logger.info({}, 'Continuum stopped');
      },
    };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}
