/**
 * /healthz: the process is alive. /readyz: it can accept work (Redis answers, start-up done, not
 * shutting down). An unreachable EHR does not make the gateway unready: taking writes during an
 * outage is its job; the EHR's state is reported alongside.
 */
import { Router } from 'express';
import { route } from '../async-route';

export interface HealthChecks {
  isShuttingDown(): boolean;
  redis(): Promise<boolean>;
  /** Per connection: whether the EHR answered its /metadata probe lately. */
  ehr(): Promise<
    Record<string, { readonly reachable: boolean; readonly checkedAt: string; readonly breaker?: string }>
  >;
}

export function healthRoutes(checks: HealthChecks): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get(
    '/readyz',
    route(async (_req, res) => {
      const [redis, ehr] = await Promise.all([checks.redis(), checks.ehr()]);
      const ready = redis && !checks.isShuttingDown();
      res.status(ready ? 200 : 503).json({
        ready,
        shuttingDown: checks.isShuttingDown(),
        redis: redis ? 'up' : 'down',
        connections: ehr,
      });
    }),
  );
  return router;
}
