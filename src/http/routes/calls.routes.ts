/**
 * POST /v1/calls (log a call) and POST /v1/callbacks (request one): durable writes like the rest,
 * on the patient's lane when the caller was identified, else on a lane of their own. A call log
 * must never be lost to an outage: it is what the clinic later reads to know the patient called.
 */
import { Router, type Request, type Response } from 'express';
import { acceptPlainWrite } from '../../use-cases/accept-write';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { byRegion } from '../schemas/by-region';
import { callbackSchema, callSchema } from '../schemas/call.schema';
import { sendReceipt } from '../send-receipt';
import { zodToValidationError } from '../validation';
import { writeBody, writeContext } from '../write-context';

const connectionOf = (deps: UseCaseDeps, req: Request, res: Response) =>
  resolveConnection(
    deps,
    typeof req.query.connection === 'string' ? req.query.connection : undefined,
    callerOf(res).tenant,
  );

export function callsRoutes(deps: UseCaseDeps): Router {
  const router = Router();
  router.post(
    '/',
    route(async (req, res) => {
      const parsed = callSchema.safeParse(writeBody(req));
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of a call log');
      const { agentName, agentPractitionerId, ...call } = parsed.data;
      const accepted = await acceptPlainWrite(deps, connectionOf(deps, req, res), writeContext(req, res), {
        kind: 'call.log',
        call: {
          patientId: call.patientId,
          direction: call.direction,
          startedAt: call.startedAt,
          endedAt: call.endedAt,
          agent:
            agentName === undefined ? undefined : { name: agentName, practitionerId: agentPractitionerId },
          reason: call.reason,
          disposition: call.disposition,
          notes: call.notes,
        },
      });
      await sendReceipt(deps, req, res, accepted);
    }),
  );
  return router;
}

export function callbacksRoutes(deps: UseCaseDeps): Router {
  const router = Router();
  const schema = byRegion(callbackSchema);
  router.post(
    '/',
    route(async (req, res) => {
      const connection = connectionOf(deps, req, res);
      const parsed = schema(connection.phoneRegion).safeParse(writeBody(req));
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of a callback request');
      const c = parsed.data;
      const accepted = await acceptPlainWrite(deps, connection, writeContext(req, res), {
        kind: 'callback.request',
        callback: {
          patientId: c.patientId,
          phone: c.phone,
          windowStart: c.windowStart,
          windowEnd: c.windowEnd,
          priority: c.priority,
          reason: c.reason,
          notes: c.notes,
        },
      });
      await sendReceipt(deps, req, res, accepted);
    }),
  );
  return router;
}
