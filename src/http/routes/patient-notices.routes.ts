/**
 * GET /v1/patients/:id/notices: what crisis operations did to the patient's visits, as sentences an
 * IVR reads out (`?shape=flat` for IVR flows). Answers from Continuum's own records while the EHR is down.
 */
import { Router } from 'express';
import { patientNotices } from '../../use-cases/patient-notices';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { ClosureDeps } from '../../use-cases/site-closure';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { fhirIdParam } from '../query-params';

export function patientNoticesRoutes(deps: ClosureDeps): Router {
  const router = Router();
  router.get(
    '/:id/notices',
    route(async (req, res) => {
      const { tenant } = callerOf(res);
      const connection = resolveConnection(
        deps,
        typeof req.query.connection === 'string' ? req.query.connection : undefined,
        tenant,
      );
      res.json(await patientNotices(deps, connection, tenant, fhirIdParam('id', req.params.id)));
    }),
  );
  return router;
}
