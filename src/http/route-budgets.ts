/**
 * Which request budget each route of the route table takes from. Every entry is listed here by
 * method and path, limited or explicitly `unlimited`: a unit test walks ROUTE_TABLE, so a route
 * added there without a line here fails it. At run time an entry missing here is still counted,
 * as a read (GET) or a write (anything else), never let through uncounted.
 */
import type { Budget } from '../domain/rate-limits';
import type { RouteSpec } from './route-table';

export type RouteBudget = Budget | 'unlimited';

/**
 * `unlimited`: probes, the key set, EHR webhooks (signed per connection), the token endpoint (its
 * secrets are 256-bit keys, beyond guessing; a budget per address would lock a whole call-center
 * floor behind one NAT out of its tokens), operator routes and the sandbox.
 */
export const ROUTE_BUDGETS: Readonly<Record<string, RouteBudget>> = {
  'GET /healthz': 'unlimited',
  'GET /readyz': 'unlimited',
  'GET /.well-known/jwks.json': 'unlimited',
  'POST /oauth/token': 'unlimited',
  'POST /webhooks/ehr/:connection': 'unlimited',
  'GET /console': 'unlimited',
  'GET /console/console.js': 'unlimited',
  'GET /console/console-kit.js': 'unlimited',
  'GET /console/console.css': 'unlimited',
  'GET /console/icon.svg': 'unlimited',
  'GET /console/mappings': 'unlimited',
  'GET /console/mappings.js': 'unlimited',
  'GET /console/mappings.css': 'unlimited',
  // The API's description and its page: the same bytes for everyone, built once at start.
  'GET /openapi.json': 'unlimited',
  'GET /docs': 'unlimited',
  'GET /docs/*file': 'unlimited',

  'GET /v1/patients/lookup': 'lookup',
  'POST /v1/patients/verify': 'verify',
  'GET /v1/patients/:id': 'read',
  'GET /v1/patients/:id/summary': 'read',
  'GET /v1/patients/:id/appointments': 'read',
  'GET /v1/slots': 'read',
  'GET /v1/operations': 'read',
  'GET /v1/operations/:id': 'read',

  'POST /v1/patients': 'write',
  'POST /v1/patients/:id/update': 'write',
  'PATCH /v1/patients/:id': 'write',
  'POST /v1/appointments': 'write',
  'POST /v1/appointments/:id/cancel': 'write',
  'POST /v1/appointments/:id/confirm': 'write',
  'POST /v1/appointments/:id/reschedule': 'write',
  'POST /v1/appointments/:id/convert': 'write',
  'POST /v1/appointments/:id/hold': 'write',
  'POST /v1/calls': 'write',
  'POST /v1/callbacks': 'write',
  'POST /v1/patients/:id/callback-request': 'write',
  // Read on every IVR call during a crisis, like a lookup.
  'GET /v1/notices': 'read',
  'GET /v1/patients/:id/notices': 'read',
  // The crisis lead's own routes: few callers, and needed most when everything else is busy.
  'POST /v1/crisis/closures': 'unlimited',
  'GET /v1/crisis/closures': 'unlimited',
  'GET /v1/crisis/closures/:id': 'unlimited',
  'POST /v1/crisis/closures/:id/stop': 'unlimited',

  // Dashboards poll it; in a crisis it is what operators look at.
  'GET /v1/status': 'unlimited',
  'GET /v1/status/history': 'unlimited',
  'GET /v1/operations/replay': 'unlimited',
  'POST /v1/operations/replay': 'unlimited',
  'GET /v1/operations/replay/:replayId': 'unlimited',
  'POST /v1/operations/replay/:replayId/stop': 'unlimited',
  'POST /v1/operations/:id/retry': 'unlimited',
  'POST /v1/operations/:id/cancel': 'unlimited',
  'GET /v1/audit': 'read',
  // Crisis leads' routes, like operators': what they do in a crisis must not be budgeted away.
  'GET /v1/crisis/activations': 'unlimited',
  'GET /v1/crisis/activations/:id': 'unlimited',
  'POST /v1/crisis/activations': 'unlimited',
  'POST /v1/crisis/activations/:id/end': 'unlimited',
  'GET /v1/events/subscribers': 'unlimited',
  'GET /admin/queues{/*rest}': 'unlimited',
  // Scraped every few seconds by Prometheus; its cost is bounded by the scrape itself.
  'GET /metrics': 'unlimited',
  'POST /v1/events/subscribers/:name/replay': 'unlimited',
  // The mapping workbench reads live records as an engineer types: counted as reads, like any
  // other read of a record. Managing the profiles themselves is an operator's act.
  'POST /v1/mappings/explain': 'read',
  'POST /v1/mappings/try': 'read',
  'POST /v1/mappings/evaluate': 'read',
  'GET /v1/mappings/profiles': 'unlimited',
  'GET /v1/mappings/profiles/:name': 'unlimited',
  'GET /v1/mappings/versions/:hash': 'unlimited',
  'GET /v1/mappings/diff': 'unlimited',
  'POST /v1/mappings/reload': 'unlimited',
  'POST /v1/mappings/profiles/:name/fixtures': 'unlimited',
  'PUT /v1/mappings/profiles/:name/rules': 'unlimited',

  'GET /sandbox/fhir{/*rest}': 'unlimited',
  'POST /sandbox/fhir{/*rest}': 'unlimited',
  'PUT /sandbox/fhir{/*rest}': 'unlimited',
  'PATCH /sandbox/fhir{/*rest}': 'unlimited',
  'DELETE /sandbox/fhir{/*rest}': 'unlimited',
  'POST /sandbox/auth/token': 'unlimited',
  'GET /sandbox/admin/auth': 'unlimited',
  'POST /sandbox/admin/auth': 'unlimited',
  'GET /sandbox/admin/faults': 'unlimited',
  'POST /sandbox/admin/faults': 'unlimited',
  'DELETE /sandbox/admin/faults': 'unlimited',
  'GET /sandbox/admin/capacity': 'unlimited',
  'POST /sandbox/admin/capacity/reset': 'unlimited',
};

export const routeKey = (spec: Pick<RouteSpec, 'method' | 'path'>): string => `${spec.method} ${spec.path}`;

/** The budget a request of this route takes from. */
export function budgetOf(spec: RouteSpec): RouteBudget {
  return ROUTE_BUDGETS[routeKey(spec)] ?? (spec.method === 'GET' ? 'read' : 'write');
}
