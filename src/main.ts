/**
 * The composition root: build the configuration's adapters, the use cases on top of them, start the
 * roles this process plays, and register everything that must close. The wiring itself lives in
 * src/wiring/, one module per concern; nothing else in the code base creates adapters.
 */
import type { DestinationStream } from 'pino';
import { createSandboxEhr } from '../adapters/ehr/sandbox';
import { createRedisRunLock } from '../adapters/redis/run-lock';
import type { Config } from './config/load-config';
import type { CredentialsCheck } from './domain/connection-credentials';
import type { Logger } from './domain/ports';
import { createLogger } from './observability/logger';
import { createReadiness } from './use-cases/readiness';
import { ReplayRegistry } from './use-cases/replay-operations';
import { createScheduledWarmup, type WarmupRun } from './use-cases/scheduled-warmup';
import { buildAccess } from './wiring/access';
import { warnOfSandboxConnectionsWithoutOAuth } from './wiring/sandbox-auth-warning';
import { buildApp } from './wiring/app';
import { startBackgroundJobs } from './wiring/background-jobs';
import { Closeables } from './wiring/closeables';
import { createCredentialsRecovery } from './wiring/credentials-recovery';
import { startHttpServer } from './wiring/http-server';
import { startStatusSampler } from './wiring/status-sampler';
import { openKeyRing, type EhrCredentialsWiring } from './wiring/ehr-credentials';
import { connectRedis } from './wiring/redis';
import { createMetricsWiring, registerRuntimeGauges } from './wiring/metrics';
import { buildUseCaseDeps } from './wiring/use-case-deps';
import { startWorkers } from './wiring/workers';
import { watchMappingFolders } from './wiring/mapping-watch';
import type { ProfileReloadOutcome, ProfileReloadTrigger } from './domain/mapping-catalog';

export { StartupError } from './wiring/startup-error';
export type { WarmupRun };

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
  /** The closing steps in the order `close()` runs them. */
  readonly closeOrder: readonly string[];
  /** Set when this start created the admin client (no client existed): where its key is. */
  readonly adminKeyFile: string | undefined;
  /**
   * Warm the continuity cache for one connection now (default: `defaultConnection`), unless another
   * run holds its lock: workers do this on a schedule; this is the operator's (and tests') hook.
   */
  warmCache(connection?: string): Promise<WarmupRun>;
  /**
   * Retry the EHR credentials of one connection (default: all) now, instead of at the next periodic
   * probe: what a reload of connection credentials (changed secret file, SIGHUP) calls. A connection
   * that was `credentials-rejected` and is accepted again resumes its writes at once.
   */
  retryCredentialsNow(connection?: string): Promise<Record<string, CredentialsCheck>>;
  /**
   * Re-read the mapping profiles in use from disk (SIGHUP, default trigger `signal`): checked first
   * (lint, fixtures, the MRN system, a sample of real records); on any problem the running versions
   * stay and the outcome says why. This process only: every process of a deployment reloads itself.
   */
  reloadMappings(trigger?: ProfileReloadTrigger): Promise<ProfileReloadOutcome>;
  /** EHR sign-in: `reloadCredentials()` (SIGHUP), token-request counts, the credentials-changed hook. */
  readonly ehrCredentials: EhrCredentialsWiring;
  /** Graceful stop: no new work, in-flight jobs finish, then queues, the sandbox, Redis. */
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, role } = options;
  const logger = createLogger({
    level: config.logging.level,
    destination: options.logDestination,
    base: { role },
  });
  const closeables = new Closeables(logger);
  const metrics = createMetricsWiring();
  try {
    // Adapters.
    const redis = await connectRedis(config, logger, closeables);
    const http = await startHttpServer(config, logger, closeables);
    const ehrKeyRing = await openKeyRing(config, logger, closeables);
    const access = await buildAccess(config, redis, logger, closeables, ehrKeyRing);
    const sandbox =
      config.sandbox.enabled && role !== 'worker'
        ? await createSandboxEhr({
            seed: config.sandbox.seed,
            patientCount: config.sandbox.patientCount,
            // Registered by its JWKS URL as Epic registers a client: by default this gateway's own.
            auth: {
              ...config.sandbox.auth,
              jwksUrl:
                config.sandbox.auth.jwksUrl ?? `http://127.0.0.1:${String(http.port)}/.well-known/jwks.json`,
            },
            logger: logger.child({ component: 'sandbox' }),
          })
        : undefined;
    if (sandbox) closeables.add('ehr', 'sandbox', () => sandbox.close());
    warnOfSandboxConnectionsWithoutOAuth(config, logger);

    // Use cases.
    const runtime = await buildUseCaseDeps(config, redis, {
      logger,
      closeables,
      sandboxPort: role === 'worker' ? config.server.port : http.port,
      ehrKeyRing,
      metrics: metrics.recorder,
    });
    registerRuntimeGauges(metrics, runtime, logger);
    const lock = createRedisRunLock({ redis: redis.client, prefix: redis.prefix });
    const warmup = createScheduledWarmup(runtime.deps, {
      lock,
      intervalMs: config.cache.warmup.intervalMinutes * 60_000,
      days: config.cache.warmup.days,
      locations: config.cache.warmup.locations,
    });
    closeables.add('work', 'warm-ups', () => warmup.stop());
    const credentials = createCredentialsRecovery(runtime, logger);
    // Credentials reloaded (SIGHUP, a changed secret or key file) are tried at once: a connection
    // the EHR refused resumes its writes without waiting for the next periodic probe.
    runtime.ehrCredentials.onCredentialsChanged((name) => {
      credentials.retryNow(name).catch((error: unknown) => {
        logger.warn(
          { err: error, connection: name },
          'credentials not retried after a reload; the periodic probe will',
        );
      });
    });
    const replays = new ReplayRegistry();
    let shuttingDown = false;
    closeables.add('intake', 'replays', () => {
      shuttingDown = true;
      replays.stopAll();
      return Promise.resolve();
    });

    // Roles.
    if (role !== 'api') {
      startWorkers(config, runtime, redis, logger, closeables, metrics.recorder);
      startBackgroundJobs(config, runtime, { warmup, lock, credentials }, logger, closeables);
    }
    if (role !== 'worker') startStatusSampler(config, runtime, logger, closeables);
    watchMappingFolders(config, runtime.mappingCatalog, logger, closeables);
    const readiness = createReadiness(runtime.deps, {
      pingRedis: () => redis.client.ping(),
      breaker: (name) => runtime.breakers.get(name)?.snapshot(),
      credentials: (name) => runtime.credentials.get(name)?.snapshot(),
    });
    http.serve(
      buildApp(config, {
        logger,
        access,
        serveApi: role !== 'worker',
        runtime,
        readiness,
        isShuttingDown: () => shuttingDown,
        replays,
        metrics,
        sandbox,
      }),
    );
    logger.info(
      { url: http.url, role, redis: redis.embedded ? 'embedded' : 'external', sandbox: Boolean(sandbox) },
      'Continuum is ready',
    );
    // After start, never before it: an EHR that is down or slow must not hold the gateway up.
    runtime.mappingCatalog.sampleRunning().catch((error: unknown) => {
      logger.warn({ err: error }, 'mapping profiles not checked on sampled records');
    });

    return {
      url: http.url,
      port: http.port,
      logger,
      redisTarget: redis.target,
      closeOrder: closeables.order(),
      adminKeyFile: access.adminKeyFile,
      warmCache: (name = config.defaultConnection) => warmup.run(name),
      retryCredentialsNow: (name) => credentials.retryNow(name),
      reloadMappings: (trigger = 'signal') => runtime.mappingCatalog.reload(trigger),
      ehrCredentials: runtime.ehrCredentials,
      close: async () => {
        await closeables.closeAll();
        logger.info({}, 'Continuum stopped');
      },
    };
  } catch (error) {
    await closeables.closeAll();
    throw error;
  }
}
