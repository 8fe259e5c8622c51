/**
 * Each EHR connection's context for the use cases: its FHIR client, mapping profile, deadlines,
 * capabilities and the circuit breaker shared through Redis.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { watchForStalls } from '../../adapters/ehr/stalled-calls';
import { createCircuitBreaker } from '../../adapters/redis/circuit-breaker';
import type { Config } from '../config/load-config';
import type { CallCenterEvent } from '../domain/events';
import type { MappingProfile } from '../domain/mapping-profile';
import type { CircuitBreaker, Logger } from '../domain/ports';
import { withDeadline } from '../domain/with-deadline';
import { loadMappingProfile } from '../mapping';
import { createPhoneSearchValue } from '../phone';
import { breakerEvent } from '../use-cases/call-center-events';
import { createBackgroundRefreshes } from '../use-cases/background-refreshes';
import { createConfirmedPatients } from '../use-cases/confirmed-patients';
import type { ConnectionContext } from '../use-cases/use-case-deps';
import { createEhrClient, ehrBaseUrl } from './ehr-client';
import { sandboxCredential } from './sandbox-credential';

export interface ConnectionsWiring {
  readonly connections: ReadonlyMap<string, ConnectionContext>;
  readonly breakers: ReadonlyMap<string, CircuitBreaker>;
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
  },
): Promise<ConnectionsWiring> {
  const { logger } = options;
  const breakers = new Map<string, CircuitBreaker>();
  const profiles = new Map<string, MappingProfile>();
  const connections = new Map<string, ConnectionContext>();
  // Breaker bookkeeping must never fail or hold a read: a slow or failing Redis is logged and skipped.
  const breakerNote = async (update: Promise<void> | undefined): Promise<void> => {
    if (update === undefined) return;
    await withDeadline(update, 250, 'the circuit breaker').catch((error: unknown) => {
      logger.warn({ err: error }, 'circuit breaker not updated');
    });
  };

  // Read from the data-at-rest key file once, not once per connection.
  const sandboxConnectionCredential = sandboxCredential(config);
  for (const connection of Object.values(config.connections)) {
    const breaker = createCircuitBreaker({
      redis: options.redis,
      prefix: options.prefix,
      connection: connection.name,
      failureThreshold: connection.breaker.failureThreshold,
      probeIntervalMs: connection.breaker.probeIntervalMs,
      logger,
      // Only the process whose failure or success changed the state is told: one event each.
      onTransition: (state) => {
        if (state === 'half-open') return;
        options.publish(breakerEvent(connection.name, state, new Date().toISOString()));
      },
    });
    breakers.set(connection.name, breaker);

    let mapping = profiles.get(connection.mappingProfile);
    if (!mapping) {
      mapping = await loadMappingProfile(join(config.mappingsDir, connection.mappingProfile), {
        defaultRegion: config.phone.defaultRegion,
      });
      profiles.set(connection.mappingProfile, mapping);
    }
    connections.set(connection.name, {
      name: connection.name,
      // Every call to the EHR, the workers' too, is watched so a hung EHR opens the breaker in flight.
      ehr: watchForStalls(
        createEhrClient(connection, ehrBaseUrl(connection, options.sandboxPort), {
          sandboxCredential: sandboxConnectionCredential,
        }),
        {
          stalledCalls: connection.breaker.stalledCalls,
          stallAfterMs: connection.breaker.stallAfterMs,
          onStall: (stalled) => void breakerNote(breaker.recordStall(stalled)),
        },
      ),
      mapping,
      readDeadlineMs: connection.readDeadlineMs,
      readDeadline: (read) => connection.readDeadlines[read] ?? connection.readDeadlineMs,
      writeTimeoutMs: connection.writeTimeoutMs,
      acceptCheckMs: connection.acceptCheckMs,
      staleAfterMs: connection.staleAfterMs,
      refreshes: createBackgroundRefreshes(),
      capabilities: connection.capabilities,
      // A profile may pin the region its EHR's numbers are written in; else the gateway's default.
      phoneRegion: mapping.phoneRegion,
      phoneSearchValue: createPhoneSearchValue(mapping.phoneRegion),
      confirmedPatients: createConfirmedPatients({
        ttlMs: connection.confirmedPatientTtlSeconds * 1000,
        maxEntries: 100000,
      }),
      ehrAvailable: () => breaker.allowsRequests(),
      ehrAnswered: () => breakerNote(breaker.recordSuccess()),
      ehrFailed: () => breakerNote(breaker.recordFailure()),
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
  return { connections, breakers };
}
