/** GET /v1/slots: free slots, earliest first. */
import { Router } from 'express';
import { APPOINTMENT_MODES, type AppointmentMode } from '../../domain/appointment';
import { validationError } from '../../domain/errors';
import { FHIR_ID } from '../../domain/fhir';
import { findTenantSlots } from '../../use-cases/tenant-locations';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { dateParam, intParam, optionalFhirIdParam, text } from '../query-params';

/** Without `to`, this many days from `from`. */
const DEFAULT_DAYS = 14;
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;

function mode(raw: string | undefined): AppointmentMode | undefined {
  if (raw === undefined) return undefined;
  if (!(APPOINTMENT_MODES as readonly string[]).includes(raw)) {
    throw validationError([{ field: 'mode', message: `must be one of ${APPOINTMENT_MODES.join(', ')}` }]);
  }
  return raw as AppointmentMode;
}

export function slotsRoutes(deps: UseCaseDeps): Router {
  const router = Router();
  router.get(
    '/',
    route(async (req, res) => {
      const connection = resolveConnection(deps, text(req.query.connection), callerOf(res).tenant);
      const from = dateParam('from', text(req.query.from)) ?? deps.clock.now();
      const to = dateParam('to', text(req.query.to)) ?? new Date(from.getTime() + DEFAULT_DAYS * 86_400_000);
      const limit = intParam('limit', text(req.query.limit), DEFAULT_LIMIT, 1, MAX_LIMIT);
      const serviceType = text(req.query.serviceType);
      if (serviceType !== undefined && !FHIR_ID.test(serviceType)) {
        throw validationError([{ field: 'serviceType', message: 'must be a service type code' }]);
      }
      const list = await findTenantSlots(
        deps,
        connection,
        {
          from,
          to,
          serviceType,
          practitioner: optionalFhirIdParam('practitioner', text(req.query.practitioner)),
          location: optionalFhirIdParam('location', text(req.query.location)),
          mode: mode(text(req.query.mode)),
          limit,
        },
        callerOf(res).tenant,
      );
      res.json(list);
    }),
  );
  return router;
}
