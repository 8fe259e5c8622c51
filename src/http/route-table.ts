/**
 * Every route the gateway serves and what it takes to call it: one table that the access-control
 * middleware enforces and the authorization tests are generated from. A request whose method and
 * path match no entry is refused (after authentication) even if a handler exists: a route added
 * without a line here is unreachable, and its tests fail.
 */
import { match, type MatchFunction } from 'path-to-regexp';
import type { Scope } from '../domain/access';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/**
 * `public` routes authenticate in their own way or not at all: probes, the token endpoint (the
 * client authenticates in the body or with Basic), the key set, and EHR webhooks (per-connection
 * signatures).
 */
export type RouteAccess = Scope | readonly Scope[] | 'public';

/** The scopes any one of which opens a protected route, least privileged first. */
export function scopesOf(access: Exclude<RouteAccess, 'public'>): readonly Scope[] {
  return typeof access === 'string' ? [access] : access;
}

/** `GET /v1/patients/:id`: how routes are named in logs, audit records and tests. */
export function routeKey(spec: Pick<RouteSpec, 'method' | 'path'>): string {
  return `${spec.method} ${spec.path}`;
}

export interface RouteSpec {
  readonly method: HttpMethod;
  /** An express path; `{/*rest}` matches everything below it. */
  readonly path: string;
  readonly access: RouteAccess;
  /** Names the tenant-owned thing a path parameter points at: another tenant's answers 404. */
  readonly tenantOwned?: 'operation' | 'replay' | 'subscriber' | 'connection';
}

const routes = (method: HttpMethod, access: RouteAccess, ...paths: string[]): RouteSpec[] =>
  paths.map((path) => ({ method, path, access }));

export const ROUTE_TABLE: readonly RouteSpec[] = [
  ...routes('GET', 'public', '/healthz', '/readyz', '/.well-known/jwks.json'),
  // The console's page, script and style hold no data and no secret: it calls the API with the user's key.
  ...routes(
    'GET',
    'public',
    '/console',
    '/console/console.js',
    '/console/console-kit.js',
    '/console/console.css',
    '/console/icon.svg',
    '/console/mappings',
    '/console/mappings.js',
    '/console/mappings.css',
  ),
  ...routes('POST', 'public', '/oauth/token'),
  { method: 'POST', path: '/webhooks/ehr/:connection', access: 'public' },
  // The API's own description: nothing in it a caller may not know.
  ...routes('GET', 'public', '/openapi.json', '/docs', '/docs/*file'),

  // An IVR needs only "one patient, id X" before verification; demographics need patients:read.
  { method: 'GET', path: '/v1/patients/lookup', access: ['patients:lookup', 'patients:read'] },
  { method: 'POST', path: '/v1/patients/verify', access: ['patients:lookup', 'patients:read'] },
  ...routes('GET', 'patients:read', '/v1/patients/:id', '/v1/patients/:id/summary'),
  ...routes('POST', 'patients:write', '/v1/patients', '/v1/patients/:id/update'),
  ...routes('PATCH', 'patients:write', '/v1/patients/:id'),

  ...routes('GET', 'appointments:read', '/v1/patients/:id/appointments', '/v1/slots'),
  ...routes(
    'POST',
    'appointments:write',
    '/v1/appointments',
    '/v1/appointments/:id/cancel',
    '/v1/appointments/:id/confirm',
    '/v1/appointments/:id/reschedule',
    '/v1/appointments/:id/convert',
    '/v1/appointments/:id/hold',
  ),

  ...routes('POST', 'calls:write', '/v1/calls', '/v1/callbacks', '/v1/patients/:id/callback-request'),

  // What a crisis did to a patient's visits: the IVR's "is my appointment still on?".
  ...routes('GET', 'appointments:read', '/v1/patients/:id/notices'),
  ...routes('GET', 'crisis:admin', '/v1/crisis/closures', '/v1/crisis/closures/:id'),
  ...routes('POST', 'crisis:admin', '/v1/crisis/closures', '/v1/crisis/closures/:id/stop'),

  // The mapping workbench: an integration engineer's explain, try, fixtures, rules and reloads.
  ...routes(
    'GET',
    'mappings:write',
    '/v1/mappings/profiles',
    '/v1/mappings/profiles/:name',
    '/v1/mappings/versions/:hash',
    '/v1/mappings/diff',
  ),
  ...routes(
    'POST',
    'mappings:write',
    '/v1/mappings/explain',
    '/v1/mappings/try',
    '/v1/mappings/evaluate',
    '/v1/mappings/reload',
    '/v1/mappings/profiles/:name/fixtures',
  ),
  ...routes('PUT', 'mappings:write', '/v1/mappings/profiles/:name/rules'),

  ...routes('GET', 'operations:read', '/v1/operations', '/v1/status'),
  { method: 'GET', path: '/v1/status/history', access: 'operations:read', tenantOwned: 'connection' },
  { method: 'GET', path: '/v1/operations/:id', access: 'operations:read', tenantOwned: 'operation' },
  ...routes('GET', 'operations:admin', '/v1/operations/replay'),
  { method: 'POST', path: '/v1/operations/replay', access: 'operations:admin' },
  {
    method: 'GET',
    path: '/v1/operations/replay/:replayId',
    access: 'operations:admin',
    tenantOwned: 'replay',
  },
  {
    method: 'POST',
    path: '/v1/operations/replay/:replayId/stop',
    access: 'operations:admin',
    tenantOwned: 'replay',
  },
  { method: 'POST', path: '/v1/operations/:id/retry', access: 'operations:admin', tenantOwned: 'operation' },
  { method: 'POST', path: '/v1/operations/:id/cancel', access: 'operations:admin', tenantOwned: 'operation' },

  { method: 'GET', path: '/v1/audit', access: 'audit:read' },

  // Activations are looked up under the caller's tenant: another tenant's id is simply not found.
  ...routes('GET', 'crisis:admin', '/v1/crisis/activations', '/v1/crisis/activations/:id'),
  ...routes('POST', 'crisis:admin', '/v1/crisis/activations', '/v1/crisis/activations/:id/end'),
  // What callers are told (closures, outages): every channel that answers them may read it.
  {
    method: 'GET',
    path: '/v1/notices',
    access: ['patients:lookup', 'patients:read', 'appointments:read', 'crisis:admin'],
  },

  // The queue dashboard: read-only (operators act on writes through /v1/operations), so GET only.
  { method: 'GET', path: '/admin/queues{/*rest}', access: 'operations:admin' },
  // Gateway-wide figures (connection and subscriber names, counts; never PHI), in every role.
  { method: 'GET', path: '/metrics', access: 'metrics:read' },

  { method: 'GET', path: '/v1/events/subscribers', access: 'events:admin' },
  {
    method: 'POST',
    path: '/v1/events/subscribers/:name/replay',
    access: 'events:admin',
    tenantOwned: 'subscriber',
  },

  ...sandboxRoutes(false),
];

/**
 * The built-in sandbox EHR: direct FHIR access, its token endpoint, and its control API (fault
 * switch, capacity figures, OAuth client drills). When the sandbox requires OAuth (`sandbox.auth.mode` not `none`) the
 * gateway connects to its FHIR API like to any EHR, with the sandbox's own tokens, so the gateway's
 * access control leaves that API to the sandbox, which refuses a request without one (401). The
 * token endpoint authenticates the client itself; it answers 404 while the sandbox requires none.
 */
function sandboxRoutes(sandboxChecksTokens: boolean): RouteSpec[] {
  return [
    ...(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).map((method): RouteSpec => ({
      method,
      path: '/sandbox/fhir{/*rest}',
      access: sandboxChecksTokens ? 'public' : 'sandbox:admin',
    })),
    { method: 'POST', path: '/sandbox/auth/token', access: 'public' },
    ...routes('GET', 'sandbox:admin', '/sandbox/admin/auth'),
    ...routes('POST', 'sandbox:admin', '/sandbox/admin/auth'),
    ...(['GET', 'POST', 'DELETE'] as const).map((method): RouteSpec => ({
      method,
      path: '/sandbox/admin/faults',
      access: 'sandbox:admin',
    })),
    ...routes('GET', 'sandbox:admin', '/sandbox/admin/capacity'),
    ...routes('POST', 'sandbox:admin', '/sandbox/admin/capacity/reset'),
  ];
}

/** The table of a gateway whose built-in sandbox does, or does not, check its own OAuth tokens. */
export function routeTable(options: { readonly sandboxChecksTokens: boolean }): readonly RouteSpec[] {
  return options.sandboxChecksTokens
    ? [...ROUTE_TABLE.filter((spec) => !spec.path.startsWith('/sandbox/')), ...sandboxRoutes(true)]
    : ROUTE_TABLE;
}

export interface RouteMatcher {
  /** The entry for this request, or undefined when the gateway serves no such route. */
  find(method: string, path: string): RouteSpec | undefined;
  /** The entry and the path's parameters (still percent-encoded). */
  resolve(
    method: string,
    path: string,
  ): { readonly spec: RouteSpec; readonly params: Readonly<Record<string, unknown>> } | undefined;
}

export function routeMatcher(table: readonly RouteSpec[] = ROUTE_TABLE): RouteMatcher {
  // Literal paths before parameterised ones, so /v1/patients/lookup is not read as /v1/patients/:id.
  const compiled: { spec: RouteSpec; matches: MatchFunction<object> }[] = table
    .map((spec) => ({ spec, matches: match(spec.path, { decode: false }) }))
    .sort((a, b) => Number(a.spec.path.includes(':')) - Number(b.spec.path.includes(':')));
  const resolve: RouteMatcher['resolve'] = (method, path) => {
    // HEAD is answered by the GET handler.
    const wanted = method === 'HEAD' ? 'GET' : method;
    // OPTIONS (CORS preflight) is answered before access control.
    for (const c of compiled) {
      if (c.spec.method !== wanted) continue;
      const matched = c.matches(path);
      if (matched !== false) return { spec: c.spec, params: matched.params as Record<string, unknown> };
    }
    return undefined;
  };
  return { resolve, find: (method, path) => resolve(method, path)?.spec };
}
