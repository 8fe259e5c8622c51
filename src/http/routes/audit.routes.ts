/** GET /v1/audit: the tenant's audit trail (scope `audit:read`), newest first, paged by cursor. */
import { Router } from 'express';
import { searchAudit } from '../../use-cases/audit-search';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { auditQuery } from '../schemas/audit.schema';
import { zodToValidationError } from '../validation';

export function auditRoutes(deps: Pick<UseCaseDeps, 'audit'>): Router {
  const router = Router();
  router.get(
    '/',
    route(async (req, res) => {
      const parsed = auditQuery.safeParse(req.query);
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a filter of the audit trail');
      const q = parsed.data;
      res.json(
        await searchAudit(deps, {
          tenant: callerOf(res).tenant.name,
          patient: q.patient,
          client: q.client,
          agent: q.agent,
          since: q.since === undefined ? undefined : new Date(q.since),
          until: q.until === undefined ? undefined : new Date(q.until),
          cursor: q.cursor,
          limit: q.limit,
        }),
      );
    }),
  );
  return router;
}
