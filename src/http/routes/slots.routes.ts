/** GET /v1/slots: free slots, earliest first. */
import { Router } from 'express';
import { APPOINTMENT_MODES, type AppointmentMode } from '../../domain/appointment';
import { validationError } from '../../domain/errors';
import { findFreeSlots } from '../../use-cases/find-slots';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';

/** Without `to`, this many days from `from`. */
const DEFAULT_DAYS = 14;
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function date(field: string, raw: string | undefined): Date | undefined {
  if (raw === undefined) return undefined;
  const value = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? new Date(`${raw}T00:00:00Z`) : new Date(raw);
  if (Number.isNaN(value.getTime())) {
    throw validationError([{ field, message: 'must be a date (YYYY-MM-DD) or an ISO 8601 instant' }]);
  }
  return value;
}

function id(field: string, raw: string | undefined): string | undefined {
  if (raw !== undefined && !ID.test(raw))
    throw validationError([{ field, message: 'is not a valid FHIR id' }]);
  return raw;
}

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
      const connection = resolveConnection(deps, text(req.query.connection));
      const from = date('from', text(req.query.from)) ?? deps.clock.now();
      const to = date('to', text(req.query.to)) ?? new Date(from.getTime() + DEFAULT_DAYS * 86_400_000);
      const rawLimit = text(req.query.limit);
      const limit = rawLimit === undefined ? DEFAULT_LIMIT : Number(rawLimit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
        throw validationError([{ field: 'limit', message: `must be a whole number from 1 to ${MAX_LIMIT}` }]);
      }
      const serviceType = text(req.query.serviceType);
      if (serviceType !== undefined && !/^[A-Za-z0-9\-.]{1,64}$/.test(serviceType)) {
        throw validationError([{ field: 'serviceType', message: 'must be a service type code' }]);
      }
      const list = await findFreeSlots(deps, connection, {
        from,
        to,
        serviceType,
        practitioner: id('practitioner', text(req.query.practitioner)),
        location: id('location', text(req.query.location)),
        mode: mode(text(req.query.mode)),
        limit,
      });
      res.json(list);
    }),
  );
  return router;
}
