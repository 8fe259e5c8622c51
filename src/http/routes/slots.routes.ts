/** GET /v1/slots: free slots, earliest first. */
import { Router } from 'express';
import { findTenantSlots } from '../../use-cases/tenant-locations';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { slotsQuery } from '../schemas/read-query.schema';
import { zodToValidationError } from '../validation';

/** Without `to`, this many days from `from`. */
const DEFAULT_DAYS = 14;

export function slotsRoutes(deps: UseCaseDeps): Router {
  const router = Router();
  router.get(
    '/',
    route(async (req, res) => {
      const parsed = slotsQuery.safeParse(req.query);
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a slot search parameter');
      const q = parsed.data;
      const connection = resolveConnection(deps, q.connection, callerOf(res).tenant);
      const from = q.from ?? deps.clock.now();
      const to = q.to ?? new Date(from.getTime() + DEFAULT_DAYS * 86_400_000);
      const list = await findTenantSlots(
        deps,
        connection,
        {
          from,
          to,
          serviceType: q.serviceType,
          practitioner: q.practitioner,
          location: q.location,
          mode: q.mode,
          limit: q.limit,
        },
        callerOf(res).tenant,
      );
      res.json(list);
    }),
  );
  return router;
}
