/** Call-center events out: one delivery queue per configured subscriber, each with its deliverer. */
import type { Redis } from 'ioredis';
import { createEventDelivery, type EventDelivery } from '../../queue/event-delivery';
import type { Config } from '../config/load-config';
import { ContinuumError } from '../domain/errors';
import type { Task } from '../domain/fhir';
import type { Logger } from '../domain/ports';
import type { UseCaseDeps } from '../use-cases/use-case-deps';
import { delivererFor } from './deliverers';

export function buildEventDelivery(
  config: Config,
  options: {
    readonly connection: Redis;
    readonly prefix: string;
    readonly logger: Logger;
    /** Read when an event is delivered, so it may be filled in after this is built. */
    readonly connections: () => UseCaseDeps['connections'];
  },
): EventDelivery {
  return createEventDelivery({
    connection: options.connection,
    prefix: options.prefix,
    logger: options.logger,
    subscribers: config.events.subscribers.map((subscriber) => ({
      name: subscriber.name,
      types: subscriber.types,
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
