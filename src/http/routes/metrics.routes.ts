/** GET /metrics: the Prometheus exposition of this process (scope `metrics:read`), in every role. */
import { Router } from 'express';
import { route } from '../async-route';

export interface MetricsExposition {
  readonly contentType: string;
  /** The text of every metric family; bounded in time (see observability/pipeline-gauges.ts). */
  text(): Promise<string>;
}

export function metricsRoutes(exposition: MetricsExposition): Router {
  const router = Router();
  router.get(
    '/metrics',
    route(async (_req, res) => {
      const text = await exposition.text();
      res.setHeader('Content-Type', exposition.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.send(text);
    }),
  );
  return router;
}
