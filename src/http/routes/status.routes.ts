/** GET /v1/status: the write pipeline per EHR connection, and each event subscriber. */
import { Router } from 'express';
import type { EventOperations, PipelineMonitor } from '../../domain/ports';
import { pipelineStatus } from '../../use-cases/pipeline-status';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';

export function statusRoutes(deps: UseCaseDeps, monitor: PipelineMonitor, events: EventOperations): Router {
  const router = Router();
  router.get(
    '/',
    route(async (_req, res) => {
      const [connections, subscribers] = await Promise.all([pipelineStatus(deps, monitor), events.states()]);
      res.json({ connections, subscribers });
    }),
  );
  return router;
}
