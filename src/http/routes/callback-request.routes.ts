/**
 * POST /v1/patients/:id/callback-request: the IVR's "call me back" in one step. The answer is the
 * callback's receipt plus the window promised, and `?shape=flat` flattens it for IVR flows that
 * branch on it ("we will call you between 2 and 4 pm").
 */
import { Router } from 'express';
import { requestCallback } from '../../use-cases/callback-request';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { validationError } from '../../domain/errors';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { fhirIdParam, text } from '../query-params';
import { byRegion } from '../schemas/by-region';
import { callbackRequestBody } from '../schemas/crisis.schema';
import { sendReceipt } from '../send-receipt';
import { zodToValidationError } from '../validation';
import { writeBody, writeContext } from '../write-context';

export function callbackRequestRoutes(deps: UseCaseDeps): Router {
  const router = Router();
  const schema = byRegion(callbackRequestBody);
  router.post(
    '/:id/callback-request',
    route(async (req, res) => {
      const { tenant } = callerOf(res);
      const shape = text(req.query.shape);
      if (shape !== undefined && shape !== 'flat') {
        throw validationError([{ field: 'shape', message: 'must be "flat" or left out' }]);
      }
      const connection = resolveConnection(deps, text(req.query.connection), tenant);
      const patientId = fhirIdParam('id', req.params.id);
      const parsed = schema(connection.phoneRegion).safeParse(writeBody(req));
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of a callback request');
      const outcome = await requestCallback(deps, connection, writeContext(req, res), tenant, {
        patientId,
        phone: parsed.data.phone,
        priority: parsed.data.priority,
        reason: parsed.data.reason,
      });
      await sendReceipt(deps, req, res, outcome.accepted, {
        extra: { window: outcome.window, numberFrom: outcome.numberFrom, phoneEnding: outcome.phoneEnding },
        flat: shape === 'flat',
      });
    }),
  );
  return router;
}
