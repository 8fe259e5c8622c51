/** POST /v1/mappings/reload: re-read this process's mapping profiles from disk, checked first. */
import { Router } from 'express';
import { reloadMappings } from '../../use-cases/reload-mappings';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';

export function mappingReloadRoutes(deps: Pick<UseCaseDeps, 'mappingCatalog'>): Router {
  const router = Router();
  router.post(
    '/reload',
    route(async (_req, res) => {
      res.json(await reloadMappings(deps));
    }),
  );
  return router;
}
