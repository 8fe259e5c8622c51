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
  /** Per connection: whether the EHR answered its /metadata probe lately, and what it can do now. */
  ehr(): Promise<
    Record<
      string,
      {
        readonly reachable: boolean;
        readonly checkedAt: string;
        readonly breaker?: string;
        readonly state?: string;
        readonly degraded?: boolean;
      }
    >
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
      // A degraded connection keeps the gateway ready (it still takes writes), but is named plainly.
      const degraded = Object.entries(ehr)
        .filter(([, connection]) => connection.degraded === true)
        .map(([name]) => name);
      res.status(ready ? 200 : 503).json({
        ready,
        shuttingDown: checks.isShuttingDown(),
        redis: redis ? 'up' : 'down',
        degradedConnections: degraded,
        connections: ehr,
      });
    }),
  );
  return router;
}
