/**
 * POST /v1/patients/verify: identity verification of a caller. The answer is always
 * `200 {"verified": ...}` (IVR flows branch on the body) and the same for every kind of mismatch;
 * `429 TOO_MANY_ATTEMPTS` with `Retry-After` once a caller used up its failed attempts, or while
 * verification of the patient is held (`hold: 'patient'`; an agent desk is not held).
 */
import { Router, type Request } from 'express';
import type { Logger } from '../../domain/ports';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { verifyPatient, type CallerKey } from '../../use-cases/verify-patient';
import { route } from '../async-route';
import { noteAuditPatients } from '../audit-trail';
import { callerOf } from '../caller';
import { byRegion } from '../schemas/by-region';
import { verifyRequestSchema } from '../schemas/verify.schema';
import { zodToValidationError } from '../validation';
import { writeBody, writeContext } from '../write-context';

function queryString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Attempts count per calling number, else per call (X-Contact-Id, X-Call-Id), else per client address. */
function callerKeyFrom(callerId: string | undefined, contactId: string | undefined, req: Request): CallerKey {
  if (callerId !== undefined) return { kind: 'caller-id', value: callerId };
  if (contactId !== undefined) return { kind: 'contact', value: contactId };
  return { kind: 'ip', value: req.ip ?? req.socket.remoteAddress ?? 'unknown' };
}

export function verifyRoutes(deps: UseCaseDeps): Router {
  const router = Router();
  const schema = byRegion(verifyRequestSchema);

  router.post(
    '/',
    route(async (req, res) => {
      const connection = resolveConnection(deps, queryString(req.query.connection), callerOf(res).tenant);
      const parsed = schema(connection.phoneRegion).safeParse(writeBody(req));
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of an identity check');
      const { callerId, ...claim } = parsed.data;
      const caller = callerKeyFrom(callerId, writeContext(req, res).correlationId, req);
      // The request's logger: outcomes carry the request id, for audit.
      const logger = (res.locals.logger as Logger | undefined) ?? deps.logger;
      const { principal } = callerOf(res);
      // A client that may correct records is a staffed desk, not phone self-service (README, verify).
      const agentDesk = principal.scopes.has('patients:write');
      const result = await verifyPatient({ ...deps, logger }, connection, {
        ...claim,
        caller,
        client: principal.clientId,
        agentDesk,
      });
      const { attemptedAgainst, ...answer } = result;
      noteAuditPatients(res, attemptedAgainst);
      res.json(answer);
    }),
  );

  return router;
}
