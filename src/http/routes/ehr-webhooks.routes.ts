/**
 * POST /webhooks/ehr/:connection: notifications an EHR pushes. The body is kept as raw bytes,
 * because signatures are over the bytes as sent; anything unsigned, forged, stale or replayed is
 * refused with a 4xx and nothing is queued; 202 only once the notification is durably queued.
 */
import express, { Router } from 'express';
import { ContinuumError } from '../../domain/errors';
import { acceptEhrNotification } from '../../use-cases/accept-ehr-notification';
import type { UseCaseDeps } from '../../use-cases/use-case-deps';
import { route } from '../async-route';
import { checkSignature, type WebhookScheme } from '../webhook-signature';

export function ehrWebhookRoutes(
  deps: UseCaseDeps,
  schemes: ReadonlyMap<string, WebhookScheme | undefined>,
  bodyLimitBytes: number,
): Router {
  const router = Router();
  router.post(
    '/:connection',
    // Every content type: some EHRs send notifications as text/plain, and empty ones with none.
    express.raw({ type: () => true, limit: bodyLimitBytes }),
    route(async (req, res) => {
      const name = typeof req.params.connection === 'string' ? req.params.connection : '';
      const connection = deps.connections.get(name);
      if (connection === undefined)
        throw new ContinuumError('NOT_FOUND', { detail: 'no such EHR connection' });
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const check = checkSignature(schemes.get(name), raw, req.headers);
      if (!check.ok) {
        deps.logger.warn({ connection: name, reason: check.reason }, 'EHR notification refused');
        throw new ContinuumError('UNAUTHORIZED', {
          detail: 'the notification is not signed as this connection requires',
        });
      }
      const accepted = await acceptEhrNotification(deps, connection, raw, {
        signedEventId: check.signedEventId,
        unsignedEventId: check.unsignedEventId,
      });
      res.status(202).json({ accepted: true, refs: accepted.refs, reread: accepted.reread });
    }),
  );
  return router;
}
