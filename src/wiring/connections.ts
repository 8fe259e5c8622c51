/**
 * Each EHR connection's context for the use cases: its FHIR client, mapping profile, deadlines,
 * capabilities and the circuit breaker shared through Redis.
 */
import type { Redis } from 'ioredis';
import { drainLimitFeed } from '../../adapters/ehr/drain-limit-feed';
import { meteredCalls } from '../../adapters/ehr/metered-calls';
import { observeEhrCalls } from '../../adapters/ehr/observed-calls';
import { watchForStalls } from '../../adapters/ehr/stalled-calls';
import { createCircuitBreaker } from '../../adapters/redis/circuit-breaker';
import { createConnectionCredentials } from '../../adapters/redis/connection-credentials';
import { createDrainLimiter } from '../../adapters/redis/drain-limiter';
import type { Config } from '../config/load-config';
import type { ConnectionCredentials } from '../domain/connection-credentials';
import type { DrainLimiter } from '../domain/drain-limit';
import { ContinuumError } from '../domain/errors';
import type { CallCenterEvent } from '../domain/events';
import type { Metrics } from '../domain/metrics';
import type { CircuitBreaker, Logger } from '../domain/ports';
import { withDeadline } from '../domain/with-deadline';
import { createPhoneSearchValue, createPhoneSearchValues } from '../phone';
import { breakerEvent, credentialsEvent } from '../use-cases/call-center-events';
import { createBackgroundRefreshes } from '../use-cases/background-refreshes';
import { createConfirmedPatients } from '../use-cases/confirmed-patients';
import { createPhoneSearchWay } from '../use-cases/phone-search-way';
import { createRecentPhoneSearches } from '../use-cases/recent-phone-searches';
import { watchCredentials } from '../use-cases/credentials-watched-ehr';
import type { ConnectionContext } from '../use-cases/use-case-deps';
import { createEhrClient, ehrBaseUrl } from './ehr-client';
import type { MappingCatalog } from '../domain/mapping-catalog';
import type { MappingProfile } from '../domain/mapping-profile';
import type { CountryCode } from '../phone';
import { buildEhrCredentials, type EhrCredentialsWiring } from './ehr-credentials';
import type { EhrKeyRing } from '../../adapters/ehr/oauth/ehr-key-ring';
import type { RecordCipher } from '../../adapters/redis/record-cipher';
import type { Closeables } from './closeables';
import { sandboxCredential } from './sandbox-credential';
import { StartupError } from './startup-error';

export interface ConnectionsWiring {
  readonly connections: ReadonlyMap<string, ConnectionContext>;
  readonly breakers: ReadonlyMap<string, CircuitBreaker>;
  /** Whether each EHR accepts its connection's credentials, shared through Redis. */
  readonly credentials: ReadonlyMap<string, ConnectionCredentials>;
  /** How many writes each connection sends at once, where the limit is adaptive. */
  readonly drainLimits: ReadonlyMap<string, DrainLimiter>;
  /** Sign-in of the connections that use OAuth: reload on SIGHUP, the credentials-changed hook. */
  readonly ehrCredentials: EhrCredentialsWiring;
}

export async function buildConnections(
  config: Config,
  options: {
    readonly redis: Redis;
    readonly prefix: string;
    readonly logger: Logger;
    /** The port of the gateway serving the built-in sandbox. */
    readonly sandboxPort: number;
    readonly publish: (event: CallCenterEvent) => void;
    /** Seals the shared EHR access tokens at rest. */
    readonly cipher: RecordCipher;
    readonly closeables: Closeables;
    readonly metrics: Metrics;
    readonly ehrKeyRing?: EhrKeyRing;
    /** The running mapping profiles: a connection's `mapping` is always its profile's running version. */
    readonly mappingCatalog: MappingCatalog;
  },
): Promise<ConnectionsWiring> {
  const { logger } = options;
  const breakers = new Map<string, CircuitBreaker>();
  const credentialStates = new Map<string, ConnectionCredentials>();
  const connections = new Map<string, ConnectionContext>();
  const drainLimits = new Map<string, DrainLimiter>();
  // Breaker bookkeeping must never fail or hold a read: a slow or failing Redis is logged and skipped.
  const breakerNote = async (update: Promise<void> | undefined): Promise<void> => {
    if (update === undefined) return;
    await withDeadline(update, 250, 'the circuit breaker').catch((error: unknown) => {
      logger.warn({ err: error }, 'circuit breaker not updated');
    });
  };

  // Read from the data-at-rest key file once, not once per connection.
  const sandboxConnectionCredential = sandboxCredential(config);
  const ehrCredentials = await buildEhrCredentials(config, {
    redis: options.redis,
    prefix: options.prefix,
    cipher: options.cipher,
    logger,
    closeables: options.closeables,
    ...(options.ehrKeyRing !== undefined ? { keyRing: options.ehrKeyRing } : {}),
    baseUrl: (connection) => ehrBaseUrl(connection, options.sandboxPort),
  });
  for (const connection of Object.values(config.connections)) {
    const drainLimit = connection.drain.adaptive
      ? createDrainLimiter({
          redis: options.redis,
          prefix: options.prefix,
          connection: connection.name,
          // The baseline remembers about ten seconds of windows: long past a queueing spike.
          settings: {
            ...connection.drain,
            baselineWindows: Math.max(8, Math.round(10_000 / connection.drain.windowMs)),
            // The calls already queued in the EHR when a cut is made answer slowly for about a window.
            cooldownWindows: 2,
          },
          windowMs: connection.drain.windowMs,
          // As the write jobs' own locks: a dead process's permits come back as soon as its jobs do.
          leaseMs: config.queue.lockDurationMs,
          renewMs: config.queue.lockRenewMs,
          logger,
        })
      : undefined;
    if (drainLimit !== undefined) {
      drainLimits.set(connection.name, drainLimit);
      // After the workers: their writes still waiting for a permit finish first.
      options.closeables.add('queues', `drain limit ${connection.name}`, () => drainLimit.close());
    }
    const breaker = createCircuitBreaker({
      redis: options.redis,
      prefix: options.prefix,
      connection: connection.name,
      failureThreshold: connection.breaker.failureThreshold,
      probeIntervalMs: connection.breaker.probeIntervalMs,
      logger,
      // Only the process whose failure or success changed the state is told: one event each.
      onTransition: (state) => {
        if (state === 'open' && drainLimit !== undefined) {
          drainLimit.restart().catch((error: unknown) => {
            logger.warn({ err: error, connection: connection.name }, 'drain limit not restarted');
          });
        }
        if (state === 'half-open') return;
        options.publish(breakerEvent(connection.name, state, new Date().toISOString()));
      },
    });
    breakers.set(connection.name, breaker);
    const credentials = createConnectionCredentials({
      redis: options.redis,
      prefix: options.prefix,
      connection: connection.name,
      probeIntervalMs: connection.credentialsProbeIntervalMs,
      logger,
      // Only the process that began or ended the episode is told: one event each.
      onTransition: (change) => {
        options.publish(credentialsEvent(connection.name, change));
      },
    });
    credentialStates.set(connection.name, credentials);
    const metered = meteredCalls(connection.name, options.metrics);
    const fed = drainLimit !== undefined ? drainLimitFeed(drainLimit) : undefined;
    // What the last availability check found, to name the outage a read without a cached answer meets.
    let credentialsRefused = false;

    const profileName = connection.mappingProfile;
    const runningProfile = (): MappingProfile => {
      const running = options.mappingCatalog.current(profileName);
      if (!running) throw new StartupError(`mapping profile ${profileName} is not loaded`);
      return running;
    };
    const mapping = runningProfile();
    // The phone search formats follow the running profile's region, built once per region.
    const searchValues = new Map<
      CountryCode,
      { one: (e164: string) => string; all: (e164: string) => readonly string[] }
    >();
    const searchValuesOf = (region: CountryCode) => {
      let found = searchValues.get(region);
      if (found === undefined) {
        found = { one: createPhoneSearchValue(region), all: createPhoneSearchValues(region) };
        searchValues.set(region, found);
      }
      return found;
    };
    connections.set(connection.name, {
      name: connection.name,
      // Every call to the EHR, the workers' too, is watched: a hung EHR opens the breaker while its
      // calls are still in flight, and a refused credential puts the connection in its own state.
      ehr: observeEhrCalls(
        watchCredentials(
          watchForStalls(
            createEhrClient(connection, ehrBaseUrl(connection, options.sandboxPort), {
              sandboxCredential: sandboxConnectionCredential,
              tokens: ehrCredentials.tokens(connection.name),
              logger,
            }),
            {
              stalledCalls: connection.breaker.stalledCalls,
              stallAfterMs: connection.breaker.stallAfterMs,
              onStall: (stalled) => void breakerNote(breaker.recordStall(stalled)),
            },
          ),
          credentials,
          logger,
        ),
        (interaction, outcome, seconds, error) => {
          metered(interaction, outcome, seconds, error);
          fed?.(interaction, outcome, seconds, error);
        },
      ),
      // A getter: a reload changes what every new request reads and writes with.
      get mapping() {
        return runningProfile();
      },
      readDeadlineMs: connection.readDeadlineMs,
      readDeadline: (read) => connection.readDeadlines[read] ?? connection.readDeadlineMs,
      writeTimeoutMs: connection.writeTimeoutMs,
      acceptCheckMs: connection.acceptCheckMs,
      staleAfterMs: connection.staleAfterMs,
      refreshes: createBackgroundRefreshes(),
      capabilities: connection.capabilities,
      // A profile may pin the region its EHR's numbers are written in; else the gateway's default.
      get phoneRegion() {
        return runningProfile().phoneRegion;
      },
      phoneSearchValue: (e164) => searchValuesOf(runningProfile().phoneRegion).one(e164),
      phoneSearchValues: (e164) => searchValuesOf(runningProfile().phoneRegion).all(e164),
      phoneSearchWay: createPhoneSearchWay({
        mode: connection.capabilities.phoneSearchQuery,
        onChosen: (way, medians) => {
          logger.info(
            { connection: connection.name, phoneSearchQuery: way, medianMs: medians },
            'phone searches over several formats go the faster way on this EHR',
          );
        },
      }),
      recentPhoneSearches: createRecentPhoneSearches({
        windowMs: connection.lookupRecheckSeconds * 1000,
        maxEntries: 100000,
      }),
      confirmedPatients: createConfirmedPatients({
        ttlMs: connection.confirmedPatientTtlSeconds * 1000,
        maxEntries: 100000,
      }),
      ehrAvailable: async () => {
        credentialsRefused = !(await credentials.allowsRequests());
        return !credentialsRefused && (await breaker.allowsRequests());
      },
      ehrOutage: () =>
        credentialsRefused
          ? new ContinuumError('EHR_CREDENTIALS_REJECTED', {
              detail: `EHR ${connection.name} refuses the connection's credentials and nothing is cached for this read`,
              retryAfterSeconds: 5,
            })
          : new ContinuumError('EHR_UNAVAILABLE', {
              detail: `EHR ${connection.name} is unavailable (circuit breaker open) and nothing is cached for this read`,
              retryAfterSeconds: 5,
              extra: { breaker: true },
            }),
      ehrAnswered: () => breakerNote(breaker.recordSuccess()),
      // An EHR refusing the credentials is up: counting that against the breaker would open it, and
      // its `/metadata` probe (answered without a token) would then report a recovery that is not one.
      ehrFailed: (error?: unknown) =>
        error instanceof ContinuumError && error.code === 'EHR_CREDENTIALS_REJECTED'
          ? Promise.resolve()
          : breakerNote(breaker.recordFailure()),
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
  return { connections, breakers, credentials: credentialStates, drainLimits, ehrCredentials };
}
