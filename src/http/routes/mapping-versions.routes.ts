/**
 * GET /v1/mappings/versions/:hash: a stored profile version's files; GET /v1/mappings/diff: what
 * changed between two versions, a unified diff per file. Versions of the caller's tenant's profiles only.
 */
import { Router } from 'express';
import { ContinuumError } from '../../domain/errors';
import { diffMappingVersions, mappingVersion } from '../../use-cases/mapping-versions';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { mappingDiffQuery } from '../schemas/mapping-versions.schema';
import { zodToValidationError } from '../validation';

/** A full hash or a prefix of 12 digits or more (as logs and status show). */
const HASH = /^[0-9a-f]{12,64}$/;

export function mappingVersionsRoutes(deps: Pick<UseCaseDeps, 'mappingVersions' | 'connections'>): Router {
  const router = Router();
  router.get(
    '/versions/:hash',
    route(async (req, res) => {
      const hash = String(req.params.hash).toLowerCase();
      if (!HASH.test(hash))
        throw new ContinuumError('NOT_FOUND', { detail: 'no profile version with this hash' });
      res.json(await mappingVersion(deps, callerOf(res).tenant, hash));
    }),
  );
  router.get(
    '/diff',
    route(async (req, res) => {
      const parsed = mappingDiffQuery.safeParse(req.query);
      if (!parsed.success) throw zodToValidationError(parsed.error, 'does not name two profile versions');
      res.json(await diffMappingVersions(deps, callerOf(res).tenant, parsed.data.from, parsed.data.to));
    }),
  );
  return router;
}
