/**
 * Times every request and reports it under its route-table key (`GET /v1/patients/:id`), never the
 * path it was called with: a path carries patient and operation ids, which a metric label must
 * not. A request the table does not know is `unmatched`. Access control records the match, which
 * runs after this, so the route is read when the answer has gone.
 */
import type { RequestHandler } from 'express';
import type { Metrics } from '../domain/metrics';
import { matchedRouteOf } from './matched-route';
import { routeKey } from './route-table';

export function requestMetrics(metrics: Metrics): RequestHandler {
  return (_req, res, next) => {
    const started = performance.now();
    // On close, not finish: a request whose client gave up (an IVR past its budget, behind a hung
    // EHR) never finishes, and is exactly the one an incident's latency panel must show.
    res.on('close', () => {
      const matched = matchedRouteOf(res);
      metrics.httpRequest(
        matched === undefined ? 'unmatched' : routeKey(matched.spec),
        res.writableFinished ? res.statusCode : 'aborted',
        (performance.now() - started) / 1000,
      );
    });
    next();
  };
}
