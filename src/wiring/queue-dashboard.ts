/**
 * The queue dashboard at /admin/queues (bull-board), one board per tenant: a tenant's operators see
 * the write queues of its connections and the event queues of its subscribers, never another's.
 *
 * The boards are read-only. A write's state lives in its operation record, not in its BullMQ job:
 * retrying or removing a job behind the pipeline's back would leave a receipt that lies, so operators
 * act through /v1/operations (retry, cancel, replay) and the console. Jobs show what identifies them
 * and nothing else: write jobs carry only an operation id; an event's data and a notification's
 * references are reduced to their ids, since a dashboard is not a place for PHI.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Router } from 'express';
import type { Tenant } from '../domain/access';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

export interface DashboardQueues {
  /** Write queues by connection. */
  readonly writes: ReadonlyMap<string, Queue>;
  /** Event queues by subscriber. */
  readonly events: ReadonlyMap<string, Queue>;
  /** The EHR notification queue, shared by every connection. */
  readonly notifications: Queue;
}

type Formatter = (data: unknown) => unknown;

const field = (data: unknown, name: string): unknown =>
  typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[name] : undefined;

const writeData: Formatter = (data) => ({ operationId: field(data, 'operationId') ?? null });

const eventData: Formatter = (data) => {
  const event = field(data, 'event');
  return {
    eventId: field(event, 'id') ?? null,
    type: field(event, 'type') ?? null,
    attempts: field(data, 'attempts') ?? null,
  };
};

const notificationData: Formatter = (data) => ({
  connection: field(data, 'connection') ?? null,
  eventId: field(data, 'eventId') ?? null,
  receivedAt: field(data, 'receivedAt') ?? null,
});

/** Only short verdicts ('delivered', 'succeeded') are shown of what a job returned. */
const returnValue: Formatter = (value) => (typeof value === 'string' && value.length <= 80 ? value : null);

function adapter(queue: Queue, displayName: string, description: string, data: Formatter): BullMQAdapter {
  const board = new BullMQAdapter(queue, {
    readOnlyMode: true,
    allowRetries: false,
    displayName,
    description,
  });
  board.setFormatter('data', data);
  board.setFormatter('returnValue', returnValue);
  return board;
}

/**
 * The board of each tenant, by tenant name. `subscriberTenants` names each subscriber's tenant. The
 * notification queue serves every connection, so only a tenant that sees every connection sees it.
 */
export function buildQueueDashboards(input: {
  readonly tenants: ReadonlyMap<string, Tenant>;
  readonly queues: DashboardQueues;
  readonly subscriberTenants: ReadonlyMap<string, string>;
}): ReadonlyMap<string, Router> {
  const { queues } = input;
  const boards = new Map<string, Router>();
  for (const tenant of input.tenants.values()) {
    const adapters: BullMQAdapter[] = [];
    for (const connection of tenant.connections) {
      const queue = queues.writes.get(connection);
      if (queue)
        adapters.push(
          adapter(queue, `writes: ${connection}`, 'Writes to this EHR, one job per operation', writeData),
        );
    }
    for (const [subscriber, queue] of queues.events) {
      if (input.subscriberTenants.get(subscriber) !== tenant.name) continue;
      adapters.push(
        adapter(queue, `events: ${subscriber}`, 'Call-center events to this subscriber', eventData),
      );
    }
    if ([...queues.writes.keys()].every((connection) => tenant.connections.includes(connection))) {
      adapters.push(
        adapter(queues.notifications, 'EHR notifications', 'Changes pushed by the EHRs', notificationData),
      );
    }
    const server = new ExpressAdapter();
    server.setBasePath(QUEUE_DASHBOARD_PATH);
    createBullBoard({
      queues: adapters,
      serverAdapter: server,
      options: { uiConfig: { boardTitle: `Continuum queues (${tenant.name})`, hideRedisDetails: true } },
    });
    boards.set(tenant.name, server.getRouter() as Router);
  }
  return boards;
}
