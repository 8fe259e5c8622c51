/**
 * POST /v1/mappings/reload: re-read this process's mapping profiles from disk, checked first. The
 * reload is process-wide; the answer shows the caller's tenant's profiles and problems.
 */
import { Router } from 'express';
import { reloadMappings } from '../../use-cases/reload-mappings';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';

export function mappingReloadRoutes(deps: Pick<UseCaseDeps, 'mappingCatalog' | 'connections'>): Router {
  const router = Router();
  router.post(
    '/reload',
    route(async (_req, res) => {
      res.json(await reloadMappings(deps, callerOf(res).tenant));
    }),
  );
  return router;
}
