/** Call-center events out: one delivery queue per configured subscriber, each with its deliverer. */
import type { Redis } from 'ioredis';
import { createEventDelivery, type EventDelivery } from '../../queue/event-delivery';
import type { Config } from '../config/load-config';
import type { SubscriberConfig } from '../config/config-schema';
import type { CallCenterEvent } from '../domain/events';
import { ContinuumError } from '../domain/errors';
import type { Task } from '../domain/fhir';
import { NO_METRICS, type Metrics } from '../domain/metrics';
import type { Logger } from '../domain/ports';
import type { UseCaseDeps } from '../use-cases/use-case-deps';
import { delivererFor } from './deliverers';

export function buildEventDelivery(
  config: Config,
  options: {
    readonly connection: Redis;
    readonly prefix: string;
    readonly logger: Logger;
    readonly metrics?: Metrics;
    /** Read when an event is delivered, so it may be filled in after this is built. */
    readonly connections: () => UseCaseDeps['connections'];
  },
): EventDelivery {
  return createEventDelivery({
    connection: options.connection,
    prefix: options.prefix,
    logger: options.logger,
    metrics: options.metrics ?? NO_METRICS,
    subscribers: config.events.subscribers.map((subscriber) => ({
      name: subscriber.name,
      types: subscriber.types,
      receives: tenantReceives(config, subscriberTenant(config, subscriber)),
      deliverer: delivererFor(subscriber, {
        // Callback numbers and windows are not in events: platform deliverers read the Task.
        readTask: (connectionName, taskId) => {
          const context = options.connections().get(connectionName);
          if (context === undefined) {
            // A connection removed from the configuration will not come back: dead-letter the event.
            throw new ContinuumError('NOT_FOUND', { detail: `no EHR connection ${connectionName}` });
          }
          return context.ehr.read<Task>('Task', taskId, { deadlineMs: context.readDeadlineMs });
        },
      }),
    })),
  });
}

/** A subscriber serves its tenant; one without a tenant serves the gateway's operator (the admin tenant). */
export function subscriberTenant(config: Config, subscriber: SubscriberConfig): string {
  return (subscriber.kind === 'webhook' ? subscriber.tenant : undefined) ?? config.auth.adminTenant;
}

/**
 * A tenant hears what happens at its connections, and of the writes there only its own: another
 * tenant's patients and operations are not its business, even on a shared EHR.
 */
function tenantReceives(config: Config, tenantName: string): (event: CallCenterEvent) => boolean {
  const connections = new Set(config.tenants[tenantName]?.connections ?? []);
  return (event) => {
    const connection = event.data.connection;
    if (typeof connection === 'string' && !connections.has(connection)) return false;
    return event.tenant === undefined || event.tenant === tenantName;
  };
}
