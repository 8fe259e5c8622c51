/** /v1/events: event subscribers as operators see them, and the replay of their dead letters. */
import { Router } from 'express';
import type { EventOperations } from '../../domain/ports';
import { route } from '../async-route';

export function eventsRoutes(events: EventOperations): Router {
  const router = Router();
  router.get(
    '/subscribers',
    route(async (_req, res) => {
      res.json({ subscribers: await events.states() });
    }),
  );
  router.post(
    '/subscribers/:name/replay',
    route(async (req, res) => {
      const name = typeof req.params.name === 'string' ? req.params.name : '';
      res.json({ subscriber: name, requeued: await events.replay(name), enabled: true });
    }),
  );
  return router;
}
