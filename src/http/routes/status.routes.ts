/** GET /v1/status: the write pipeline per EHR connection. */
import { Router } from 'express';
import type { PipelineMonitor } from '../../domain/ports';
import { pipelineStatus } from '../../use-cases/pipeline-status';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';

export function statusRoutes(deps: UseCaseDeps, monitor: PipelineMonitor): Router {
  const router = Router();
  router.get(
    '/',
    route(async (_req, res) => {
      res.json({ connections: await pipelineStatus(deps, monitor) });
    }),
  );
  return router;
}
