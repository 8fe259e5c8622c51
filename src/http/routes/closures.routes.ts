/**
 * /v1/crisis/closures: close sites for a time. A dry run says what would change; a real run is a
 * durable job whose progress is read from its writes' receipts, and which can be stopped.
 */
import { Router } from 'express';
import { CLOSURE_ID, type ClosureRequest } from '../../domain/closure';
import { ContinuumError, validationError } from '../../domain/errors';
import { closureView, stopClosure, visibleClosure } from '../../use-cases/closure-progress';
import { resolveConnection } from '../../use-cases/resolve-connection';
import {
  closureSubmittedBefore,
  dryRunClosure,
  submitClosure,
  withAcceptedReason,
  type ClosureDeps,
} from '../../use-cases/site-closure';
import { route } from '../async-route';
import { noteAuditPatients } from '../audit-trail';
import { callerOf } from '../caller';
import { closureListQuery, closureSchema } from '../schemas/closure.schema';
import { zodToValidationError } from '../validation';
import { writeBody } from '../write-context';

const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

function closureIdParam(raw: unknown): string {
  if (typeof raw !== 'string' || !CLOSURE_ID.test(raw)) {
    throw new ContinuumError('NOT_FOUND', { detail: 'no site closure with this id' });
  }
  return raw;
}

export function closuresRoutes(deps: ClosureDeps): Router {
  const router = Router();

  router.post(
    '/',
    route(async (req, res) => {
      const parsed = closureSchema.safeParse(writeBody(req));
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of a site closure');
      const body = parsed.data;
      const { tenant, principal } = callerOf(res);
      const connection = resolveConnection(deps, body.connection, tenant);
      const given: ClosureRequest = {
        connection: connection.name,
        locations: body.locations,
        from: body.from,
        to: body.to,
        action: body.action,
        mode: body.action === 'convert-to-virtual' ? (body.mode ?? 'video') : undefined,
        reason: body.reason,
        cancellationReason: body.cancellationReason,
        callback: { priority: body.callback.priority, window: body.callback.window },
        activationId: body.activationId,
      };
      const key = req.get('idempotency-key');
      if (body.dryRun !== true) {
        if (key !== undefined && !KEY_PATTERN.test(key)) {
          throw validationError([
            { field: 'Idempotency-Key', message: 'must be 1 to 200 visible ASCII characters' },
          ]);
        }
        const owner = { clientId: principal.clientId, tenant: tenant.name };
        const earlier = await closureSubmittedBefore(deps, tenant, owner, given, key);
        if (earlier !== undefined) {
          res
            .status(200)
            .location(`/v1/crisis/closures/${earlier.id}`)
            .json(await closureView(deps, earlier));
          return;
        }
      }
      const request = withAcceptedReason(connection, given);
      if (body.dryRun === true) {
        const plan = await dryRunClosure(connection, tenant, request);
        // The plan names patients: the audit record says whose visits it disclosed.
        noteAuditPatients(
          res,
          plan.patientRefs.map((ref) => ref.replace('Patient/', '')),
        );
        res.json(plan);
        return;
      }
      const submitted = await submitClosure(
        deps,
        tenant,
        { clientId: principal.clientId, tenant: tenant.name },
        request,
        key,
      );
      res
        .status(submitted.created ? 202 : 200)
        .location(`/v1/crisis/closures/${submitted.record.id}`)
        .json(await closureView(deps, submitted.record));
    }),
  );

  router.get(
    '/',
    route(async (req, res) => {
      const parsed = closureListQuery.safeParse(req.query);
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a filter of this list');
      const records = await deps.closures.list(callerOf(res).tenant.name, parsed.data.limit);
      const views = await Promise.all(records.map((record) => closureView(deps, record)));
      const closures = views.filter(
        (v) => parsed.data.status === undefined || v.status === parsed.data.status,
      );
      res.json({ count: closures.length, closures });
    }),
  );

  router.get(
    '/:id',
    route(async (req, res) => {
      const record = await visibleClosure(deps, closureIdParam(req.params.id), callerOf(res).tenant);
      res.json(await closureView(deps, record));
    }),
  );

  router.post(
    '/:id/stop',
    route(async (req, res) => {
      res.json(await stopClosure(deps, closureIdParam(req.params.id), callerOf(res).tenant));
    }),
  );

  return router;
}
