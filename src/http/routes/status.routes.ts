/** GET /v1/status: the write pipeline of each of the tenant's EHR connections, and its event subscribers. */
import { Router } from 'express';
import type { EventOperations, PipelineMonitor } from '../../domain/ports';
import { pipelineStatus } from '../../use-cases/pipeline-status';
import { storageStatus } from '../../use-cases/storage-status';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { subscribersOf, type SubscriberTenants } from './events.routes';

export function statusRoutes(
  deps: UseCaseDeps,
  monitor: PipelineMonitor,
  events: EventOperations,
  subscriberTenants: SubscriberTenants,
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
      res.json({ connections, subscribers: subscribers.filter((s) => mine(s.name)), storage });
    }),
  );
  return router;
}
