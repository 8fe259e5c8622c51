/**
 * /v1/events: event subscribers as operators see them, and the replay of their dead letters. A
 * tenant sees only its own subscribers; another tenant's is answered like one that does not exist.
 */
import { Router } from 'express';
import type { Tenant } from '../../domain/access';
import { ContinuumError } from '../../domain/errors';
import type { EventOperations } from '../../domain/ports';
import { route } from '../async-route';
import { callerOf } from '../caller';

/** Each subscriber's tenant, by subscriber name. */
export type SubscriberTenants = ReadonlyMap<string, string>;

export function subscribersOf(
  tenant: Tenant,
  subscriberTenants: SubscriberTenants,
): (name: string) => boolean {
  return (name) => subscriberTenants.get(name) === tenant.name;
}

export function eventsRoutes(events: EventOperations, subscriberTenants: SubscriberTenants): Router {
  const router = Router();
  router.get(
    '/subscribers',
    route(async (_req, res) => {
      const mine = subscribersOf(callerOf(res).tenant, subscriberTenants);
      res.json({ subscribers: (await events.states()).filter((s) => mine(s.name)) });
    }),
  );
  router.post(
    '/subscribers/:name/replay',
    route(async (req, res) => {
      const name = typeof req.params.name === 'string' ? req.params.name : '';
      if (!subscribersOf(callerOf(res).tenant, subscriberTenants)(name)) {
        throw new ContinuumError('NOT_FOUND', { detail: 'no event subscriber with this name' });
      }
      res.json({ subscriber: name, requeued: await events.replay(name), enabled: true });
    }),
  );
  return router;
}
