/**
 * GET /v1/status: the write pipeline of each of the tenant's EHR connections, and its event
 * subscribers; GET /v1/status/history: one connection's pipeline over the last hour.
 */
import { Router } from 'express';
import type { EventOperations, PipelineMonitor } from '../../domain/ports';
import type { StatusHistoryStore } from '../../domain/status-history';
import { mappingStatus } from '../../use-cases/mapping-status';
import { pipelineStatus } from '../../use-cases/pipeline-status';
import { resolveConnection } from '../../use-cases/resolve-connection';
import { readStatusHistory } from '../../use-cases/status-history';
import { storageStatus } from '../../use-cases/storage-status';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { statusHistoryQuery } from '../schemas/status-history.schema';
import { zodToValidationError } from '../validation';
import { subscribersOf, type SubscriberTenants } from './events.routes';

export function statusRoutes(
  deps: UseCaseDeps,
  monitor: PipelineMonitor,
  events: EventOperations,
  subscriberTenants: SubscriberTenants,
  history: { readonly store: StatusHistoryStore; readonly intervalMs: number },
): Router {
  const router = Router();
  router.get(
    '/',
    route(async (_req, res) => {
      const { tenant, principal } = callerOf(res);
      const mine = subscribersOf(tenant, subscriberTenants);
      const [connections, subscribers, storage] = await Promise.all([
        pipelineStatus(deps, monitor, tenant.connections),
        events.states(),
        storageStatus(deps, { clientId: principal.clientId, tenant: tenant.name }),
      ]);
      res.json({
        connections,
        subscribers: subscribers.filter((s) => mine(s.name)),
        storage,
        mappings: mappingStatus(deps, tenant.connections),
      });
    }),
  );
  router.get(
    '/history',
    route(async (req, res) => {
      const parsed = statusHistoryQuery.safeParse(req.query);
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a filter of the history');
      const connection = resolveConnection(deps, parsed.data.connection, callerOf(res).tenant);
      res.json(
        await readStatusHistory(
          deps,
          history.store,
          connection.name,
          parsed.data.minutes,
          history.intervalMs,
        ),
      );
    }),
  );
  return router;
}
