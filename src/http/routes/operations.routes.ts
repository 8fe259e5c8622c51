/** /v1/operations: receipts of writes, and what operators do with them. */
import { Router } from 'express';
import { ContinuumError } from '../../domain/errors';
import { toReceipt } from '../../domain/operation';
import { expectedArrival } from '../../use-cases/expected-arrival';
import { cancelOperation, retryOperation } from '../../use-cases/operator-actions';
import { planReplay, type ReplayRegistry } from '../../use-cases/replay-operations';
import { visibleOrNotFound } from '../../use-cases/tenant-visibility';
import { resolveConnection } from '../../use-cases/resolve-connection';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { listOperationsQuery, replayBody } from '../schemas/operations.schema';
import { zodToValidationError } from '../validation';

const OPERATION_ID = /^op_[a-z0-9]{10,60}$/;
const REPLAYABLE = ['failed', 'needs-review'] as const;

function operationId(raw: unknown): string {
  if (typeof raw !== 'string' || !OPERATION_ID.test(raw)) {
    throw new ContinuumError('NOT_FOUND', { detail: 'no operation with this id' });
  }
  return raw;
}

export function operationsRoutes(deps: UseCaseDeps, replays: ReplayRegistry): Router {
  const router = Router();

  router.get(
    '/',
    route(async (req, res) => {
      const parsed = listOperationsQuery.safeParse(req.query);
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a filter of this list');
      const q = parsed.data;
      const connection = resolveConnection(deps, q.connection, callerOf(res).tenant);
      const ops = await deps.store.query({
        connection: connection.name,
        tenant: callerOf(res).tenant.name,
        status: q.status,
        limit: q.limit,
        ...(q.since ? { since: new Date(q.since) } : {}),
        ...(q.patient ? { patientId: q.patient } : {}),
      });
      // One estimate costs a few Redis reads: lists leave it to each receipt's own read.
      res.json({ count: ops.length, operations: ops.map((op) => toReceipt(op, undefined)) });
    }),
  );

  router.post(
    '/replay',
    route(async (req, res) => {
      const parsed = replayBody.safeParse(req.body ?? {});
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of a replay');
      const body = parsed.data;
      const filter = {
        tenant: callerOf(res).tenant,
        connection: resolveConnection(deps, body.connection, callerOf(res).tenant).name,
        statuses: body.status ?? (body.all === true ? REPLAYABLE : (['failed'] as const)),
        limit: body.limit,
        ...(body.since ? { since: new Date(body.since) } : {}),
      };
      if (body.dryRun) {
        res.json({ dryRun: true, ...(await planReplay(deps, filter)) });
        return;
      }
      const run = await replays.start(deps, filter, body.ratePerSecond);
      res.status(202).location(`/v1/operations/replay/${run.replayId}`).json(run);
    }),
  );

  router.get('/replay', (_req, res) => {
    const runs = replays.list(callerOf(res).tenant);
    res.json({ count: runs.length, runs });
  });

  router.get('/replay/:replayId', (req, res) => {
    res.json(replays.get(req.params.replayId, callerOf(res).tenant));
  });

  router.post('/replay/:replayId/stop', (req, res) => {
    res.json(replays.stop(req.params.replayId, callerOf(res).tenant));
  });

  router.get(
    '/:id',
    route(async (req, res) => {
      const op = visibleOrNotFound(callerOf(res).tenant, await deps.store.get(operationId(req.params.id)));
      res.json(toReceipt(op, await expectedArrival(deps, op)));
    }),
  );

  router.post(
    '/:id/retry',
    route(async (req, res) => {
      const op = await retryOperation(deps, operationId(req.params.id), callerOf(res).tenant);
      res
        .status(202)
        .location(`/v1/operations/${op.id}`)
        .json(toReceipt(op, await expectedArrival(deps, op)));
    }),
  );

  router.post(
    '/:id/cancel',
    route(async (req, res) => {
      // Cancelled is final: no arrival to expect.
      res.json(
        toReceipt(await cancelOperation(deps, operationId(req.params.id), callerOf(res).tenant), undefined),
      );
    }),
  );

  return router;
}
