/** GET /metrics: the Prometheus exposition of this process (scope `metrics:read`), in every role. */
import { Router } from 'express';
import { route } from '../async-route';
import { callerOf } from '../caller';
import { applyMetricsView, metricsViewOf, type MetricsOwnership } from '../metrics-tenant-view';

export interface MetricsExposition {
  readonly contentType: string;
  /** The text of every metric family; bounded in time (see observability/pipeline-gauges.ts). */
  text(): Promise<string>;
}

export function metricsRoutes(exposition: MetricsExposition, owned: MetricsOwnership): Router {
  const router = Router();
  router.get(
    '/metrics',
    route(async (_req, res) => {
      const view = metricsViewOf(callerOf(res).tenant, owned);
      const text = applyMetricsView(await exposition.text(), view);
      res.setHeader('Content-Type', exposition.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.send(text);
    }),
  );
  return router;
}
