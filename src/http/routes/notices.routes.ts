/**
 * GET /v1/notices: what an IVR, a chatbot or a desk tells callers now ("the Dorchester clinic is
 * closed today"), by location. Answered from Continuum's records alone, EHR up or down.
 */
import { Router } from 'express';
import { activeNotices } from '../../use-cases/crisis-notices';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { noticesQuery } from '../schemas/crisis.schema';
import { zodToValidationError } from '../validation';

export function noticesRoutes(deps: UseCaseDeps): Router {
  const router = Router();
  router.get(
    '/',
    route(async (req, res) => {
      const { tenant } = callerOf(res);
      const parsed = noticesQuery.safeParse(req.query);
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a notices parameter');
      const { location, connection } = parsed.data;
      // A connection the tenant may not use is refused like one that does not exist.
      if (connection !== undefined) resolveConnection(deps, connection, tenant);
      res.json(await activeNotices(deps, tenant, { location, connection }));
    }),
  );
  return router;
}
