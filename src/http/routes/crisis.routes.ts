/**
 * /v1/crisis/activations: a crisis lead declares, lists and ends the tenant's activations. Each
 * act is audited (audit-routes.ts) and announced to the tenant's subscribers.
 */
import { Router } from 'express';
import { validationError } from '../../domain/errors';
import {
  createActivation,
  endActivation,
  getActivation,
  listActivations,
} from '../../use-cases/crisis-activations';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { activationBody, activationIdPath, activationListQuery } from '../schemas/crisis.schema';
import { zodToValidationError } from '../validation';

const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

function activationId(raw: unknown): string {
  const parsed = activationIdPath.safeParse({ id: raw });
  if (!parsed.success) throw validationError([{ field: 'id', message: 'is not an activation id' }]);
  return parsed.data.id;
}

export function crisisRoutes(deps: UseCaseDeps): Router {
  const router = Router();
  const actor = (res: Parameters<typeof callerOf>[0]) => {
    const { principal, tenant } = callerOf(res);
    return { clientId: principal.clientId, tenant };
  };

  router.post(
    '/activations',
    route(async (req, res) => {
      const parsed = activationBody.safeParse(req.body ?? {});
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not a field of an activation');
      const key = req.get('idempotency-key');
      if (key !== undefined && !KEY_PATTERN.test(key)) {
        throw validationError([
          { field: 'Idempotency-Key', message: 'must be 1 to 200 visible ASCII characters' },
        ]);
      }
      const b = parsed.data;
      const { activation, created } = await createActivation(
        deps,
        actor(res),
        {
          kind: b.kind,
          title: b.title,
          locations: b.locations,
          connection: b.connection,
          message: b.message,
          startsAt: b.startsAt,
          endsAt: b.endsAt,
        },
        key,
      );
      res.location(`/v1/crisis/activations/${activation.id}`);
      res.status(created ? 201 : 200).json(activation);
    }),
  );

  router.get(
    '/activations',
    route(async (req, res) => {
      const parsed = activationListQuery.safeParse(req.query);
      if (!parsed.success) throw zodToValidationError(parsed.error, 'is not an activation list parameter');
      const activations = await listActivations(deps, callerOf(res).tenant, parsed.data.status);
      res.json({ count: activations.length, activations });
    }),
  );

  router.get(
    '/activations/:id',
    route(async (req, res) => {
      res.json(await getActivation(deps, callerOf(res).tenant, activationId(req.params.id)));
    }),
  );

  router.post(
    '/activations/:id/end',
    route(async (req, res) => {
      res.json(await endActivation(deps, actor(res), activationId(req.params.id)));
    }),
  );
  return router;
}
