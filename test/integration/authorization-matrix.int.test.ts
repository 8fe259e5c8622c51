/**
 * The authorization matrix, generated from ROUTE_TABLE: every route that needs a client is called
 * without a credential, with malformed, unknown and revoked ones, by a client that lacks the
 * route's scope, by a client of another tenant naming this tenant's things, and finally by a
 * client that holds only the route's scope. Public routes must answer without a credential, and
 * nothing the express app serves may be missing from the table.
 *
 * Two tenants: `default` uses connection `sandbox`, `south` uses `other` (both reach the rig's
 * sandbox EHR). A route added to the table without a fixture here fails, and so does a handler
 * added to the app without a line in the table.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type Express, type Router } from 'express';
import request from 'supertest';
import { SCOPES, type Scope } from '../../src/domain/access';
import type { AuditRecord } from '../../src/domain/audit';
import { transition } from '../../src/domain/operation';
import { AUDITED_ROUTES } from '../../src/http/audit-routes';
import {
  ROUTE_TABLE,
  routeMatcher,
  scopesOf,
  type HttpMethod,
  type RouteSpec,
} from '../../src/http/route-table';
import {
  accessToken,
  basicHeader,
  createClient,
  credentialHeaders,
  type CredentialMethod,
  type TestClient,
} from '../support/client-credentials';
import { http } from '../support/http';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';
import { waitFor } from '../support/wait-for';
import { projectRoot } from '../../src/project-root';

const HMAC_SECRET = 'matrix-webhook-secret-0123456789';
const SUBSCRIBER = 'desk-default';

/**
 * `south` runs a profile of its own (a copy of default with other files, so another version): the
 * stored versions of `default`'s profile are `default`'s things.
 */
const MAPPINGS = mkdtempSync(join(tmpdir(), 'continuum-matrix-mappings-'));
cpSync(join(projectRoot(), 'mappings', 'default'), join(MAPPINGS, 'default'), { recursive: true });
cpSync(join(projectRoot(), 'mappings', 'default'), join(MAPPINGS, 'south'), { recursive: true });
appendFileSync(join(MAPPINGS, 'south', 'profile.yaml'), "# south's own copy\n");

const CONFIG = {
  sandbox: { enabled: true },
  mappings: { dir: MAPPINGS },
  connections: {
    sandbox: { webhooks: { scheme: 'hmac-sha256', secret: HMAC_SECRET } },
    other: { mappingProfile: 'south' },
  },
  defaultConnection: 'sandbox',
  tenants: { default: { connections: ['sandbox'] }, south: { connections: ['other'] } },
  events: {
    subscribers: [
      {
        kind: 'webhook',
        name: SUBSCRIBER,
        url: 'http://127.0.0.1:9/events',
        secret: `whsec_${Buffer.from('matrix-subscriber-secret-0123').toString('base64')}`,
        tenant: 'default',
      },
    ],
  },
};

interface Call {
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

interface Fixture {
  /** What a client of `default` holding the route's scope sends. */
  readonly right: () => Call;
  /** The status that client gets from the route's handler. */
  readonly status: number;
  /**
   * The same request naming `default`'s operation, replay run, subscriber or connection, sent by a
   * client of `south`: answered exactly like something that does not exist. Absent when the route
   * names nothing of a tenant's.
   */
  readonly otherTenant?: () => Call;
}

interface Expectation {
  readonly describe: string;
  holds(res: request.Response): boolean;
}

interface Unexpected {
  readonly route: string;
  readonly case: string;
  readonly got: string;
  readonly expected: string;
}

let api: InProcessApi;
let admin: TestClient;
let south: TestClient;
let revoked: TestClient;
let revokedToken: string;
/** A client, with every scope, of a tenant the configuration does not have (deleted since). */
let stray: TestClient;
const only = new Map<Scope, TestClient>();
const onlyToken = new Map<Scope, string>();
/** Keyed by the route's scopes (`a|b` when any of several opens it): a client or token lacking all of them. */
const allBut = new Map<string, TestClient>();
const narrowToken = new Map<string, string>();
const unexpected: Unexpected[] = [];
let cases = 0;

/** Ids the fixtures name, found or made before the matrix runs. */
const ids = {
  receipt: '',
  failed: '',
  queued: '',
  replay: '',
  activation: '',
  closure: '',
  slots: [] as string[],
  appointments: [] as string[],
  sandboxPatient: {} as Record<string, unknown>,
  /** The running version of `default`'s profile at the start. */
  defaultProfileHash: '',
};

const routeKey = (spec: Pick<RouteSpec, 'method' | 'path'>): string => `${spec.method} ${spec.path}`;
const bodyOf = (res: request.Response): Record<string, unknown> =>
  typeof res.body === 'object' && res.body !== null ? (res.body as Record<string, unknown>) : {};
const detailOf = (res: request.Response): unknown => bodyOf(res).detail;
const codeOf = (res: request.Response): unknown => bodyOf(res).code;
const textOf = (value: unknown): string => (typeof value === 'string' ? value : '');

const unauthorized: Expectation = {
  describe: '401 UNAUTHORIZED with WWW-Authenticate',
  holds: (res) =>
    res.status === 401 &&
    codeOf(res) === 'UNAUTHORIZED' &&
    /Bearer realm="continuum"/.test(res.headers['www-authenticate'] ?? ''),
};
const forbidden = (scope: Scope): Expectation => ({
  describe: `403 FORBIDDEN naming ${scope}`,
  holds: (res) => res.status === 403 && codeOf(res) === 'FORBIDDEN' && bodyOf(res).requiredScope === scope,
});
/** The route's own 404: the route exists, the thing it names does not (for this tenant). */
const hidden: Expectation = {
  describe: "404 NOT_FOUND from the route's handler",
  holds: (res) => res.status === 404 && codeOf(res) === 'NOT_FOUND' && detailOf(res) !== 'no such route',
};
const strayTenant: Expectation = {
  describe: '403 FORBIDDEN (tenant not configured)',
  holds: (res) =>
    res.status === 403 && codeOf(res) === 'FORBIDDEN' && bodyOf(res).requiredScope === undefined,
};
/** A HEAD answer has no body: the status and the challenge say it all. */
const unauthorizedHead: Expectation = {
  describe: '401 with WWW-Authenticate',
  holds: (res) =>
    res.status === 401 && /Bearer realm="continuum"/.test(res.headers['www-authenticate'] ?? ''),
};
const noSuchRoute: Expectation = {
  describe: '404 NOT_FOUND "no such route"',
  holds: (res) => res.status === 404 && detailOf(res) === 'no such route',
};
const answered = (status: number): Expectation => ({
  describe: `${status} from the route's handler`,
  holds: (res) => res.status === status && detailOf(res) !== 'no such route',
});

function send(
  method: HttpMethod | 'HEAD',
  call: Call,
  headers: Readonly<Record<string, string>>,
): Promise<request.Response> {
  const agent = request(api.app);
  const started = {
    GET: () => agent.get(call.path),
    HEAD: () => agent.head(call.path),
    POST: () => agent.post(call.path),
    PUT: () => agent.put(call.path),
    PATCH: () => agent.patch(call.path),
    DELETE: () => agent.delete(call.path),
  }[method]();
  for (const [name, value] of Object.entries({ ...call.headers, ...headers })) started.set(name, value);
  return call.body === undefined ? started : started.send(call.body as object | string);
}

/** Sends one case and records it; returns whether it answered as expected. */
async function probe(
  route: string,
  name: string,
  method: HttpMethod | 'HEAD',
  call: Call,
  headers: Readonly<Record<string, string>>,
  expected: Expectation,
): Promise<boolean> {
  cases += 1;
  const res = await send(method, call, headers);
  if (expected.holds(res)) return true;
  const detail = detailOf(res) ?? bodyOf(res).error;
  unexpected.push({
    route,
    case: name,
    got: `${res.status} ${textOf(codeOf(res))} ${textOf(detail)}`.trim(),
    expected: expected.describe,
  });
  return false;
}

const admins = (): Record<string, string> => ({ authorization: `Bearer ${admin.key}` });

let auditedRoutes = 0;
const auditMissing: string[] = [];

async function allAuditRecords(): Promise<AuditRecord[]> {
  const found: AuditRecord[] = [];
  for await (const stored of api.rig.deps.audit.scan(undefined, undefined)) found.push(stored.record);
  return found;
}

const auditRecordCount = async (): Promise<number> => (await allAuditRecords()).length;

async function auditRecordsOf(requestId: string): Promise<AuditRecord[]> {
  return (await allAuditRecords()).filter((r) => r.requestId === requestId);
}

/** What is wrong with the records of one served request, or undefined when it is right. */
function auditProblem(
  kind: string,
  clientId: string,
  path: string,
  key: string,
  recorded: readonly AuditRecord[],
): string | undefined {
  if (recorded.length !== 1) return `${recorded.length} records`;
  const [record] = recorded;
  if (record === undefined) return 'no record';
  if (record.kind !== kind) return `kind ${record.kind}`;
  if (record.client !== clientId || record.tenant !== 'default')
    return `agent ${record.client}/${record.tenant}`;
  if (record.route !== key) return `route ${record.route ?? ''}`;
  if (record.outcome !== 0 && record.kind !== 'patient.verify') return `outcome ${record.outcome}`;
  const patient = /^\/v1\/patients\/(pat-[0-9]+)/.exec(path)?.[1];
  if (patient !== undefined && !(record.patients ?? []).includes(`Patient/${patient}`))
    return `entity ${JSON.stringify(record.patients ?? [])}`;
  return undefined;
}
const json = (res: request.Response): any => res.body;
const inHours = (hours: number): string => new Date(Date.now() + hours * 3_600_000).toISOString();

const FIXTURES: Readonly<Record<string, Fixture>> = {
  'GET /v1/patients/lookup': {
    right: () => ({ path: '/v1/patients/lookup?phone=%2B16175550100' }),
    status: 200,
    otherTenant: () => ({ path: '/v1/patients/lookup?phone=%2B16175550100&connection=sandbox' }),
  },
  'GET /v1/patients/:id': {
    right: () => ({ path: '/v1/patients/pat-0001' }),
    status: 200,
    otherTenant: () => ({ path: '/v1/patients/pat-0001?connection=sandbox' }),
  },
  'GET /v1/patients/:id/summary': {
    right: () => ({ path: '/v1/patients/pat-0001/summary' }),
    status: 200,
    otherTenant: () => ({ path: '/v1/patients/pat-0001/summary?connection=sandbox' }),
  },
  'POST /v1/patients/verify': {
    right: () => ({ path: '/v1/patients/verify', body: { birthDate: '1980-02-29', family: 'Nobody' } }),
    status: 200,
    otherTenant: () => ({
      path: '/v1/patients/verify?connection=sandbox',
      body: { birthDate: '1980-02-29', family: 'Nobody' },
    }),
  },
  'POST /v1/patients': {
    right: () => ({
      path: '/v1/patients',
      body: { name: { given: ['Ada'], family: 'Matrix' }, birthDate: '1990-05-05' },
    }),
    status: 202,
    otherTenant: () => ({
      path: '/v1/patients?connection=sandbox',
      body: { name: { given: ['Ada'], family: 'Matrix' }, birthDate: '1990-05-05' },
    }),
  },
  'POST /v1/patients/:id/update': {
    right: () => ({ path: '/v1/patients/pat-0005/update', body: { email: 'matrix-5@example.org' } }),
    status: 202,
    otherTenant: () => ({
      path: '/v1/patients/pat-0005/update?connection=sandbox',
      body: { email: 'matrix-5@example.org' },
    }),
  },
  'PATCH /v1/patients/:id': {
    right: () => ({ path: '/v1/patients/pat-0006', body: { email: 'matrix-6@example.org' } }),
    status: 202,
    otherTenant: () => ({
      path: '/v1/patients/pat-0006?connection=sandbox',
      body: { email: 'matrix-6@example.org' },
    }),
  },
  'GET /v1/patients/:id/appointments': {
    right: () => ({ path: '/v1/patients/pat-0001/appointments' }),
    status: 200,
    otherTenant: () => ({ path: '/v1/patients/pat-0001/appointments?connection=sandbox' }),
  },
  'GET /v1/slots': {
    right: () => ({ path: '/v1/slots?limit=3' }),
    status: 200,
    otherTenant: () => ({ path: '/v1/slots?limit=3&connection=sandbox' }),
  },
  'POST /v1/appointments': {
    right: () => ({ path: '/v1/appointments', body: { patientId: 'pat-0007', slotId: ids.slots[0] } }),
    status: 202,
    otherTenant: () => ({
      path: '/v1/appointments?connection=sandbox',
      body: { patientId: 'pat-0007', slotId: ids.slots[0] },
    }),
  },
  'POST /v1/appointments/:id/cancel': {
    right: () => ({ path: `/v1/appointments/${ids.appointments[0] ?? ''}/cancel`, body: {} }),
    status: 202,
    otherTenant: () => ({
      path: `/v1/appointments/${ids.appointments[0] ?? ''}/cancel?connection=sandbox`,
      body: {},
    }),
  },
  'POST /v1/appointments/:id/confirm': {
    right: () => ({ path: `/v1/appointments/${ids.appointments[1] ?? ''}/confirm`, body: {} }),
    status: 202,
    otherTenant: () => ({
      path: `/v1/appointments/${ids.appointments[1] ?? ''}/confirm?connection=sandbox`,
      body: {},
    }),
  },
  'POST /v1/appointments/:id/convert': {
    right: () => ({ path: `/v1/appointments/${ids.appointments[3] ?? ''}/convert`, body: { mode: 'video' } }),
    status: 202,
    otherTenant: () => ({
      path: `/v1/appointments/${ids.appointments[3] ?? ''}/convert?connection=sandbox`,
      body: { mode: 'video' },
    }),
  },
  'POST /v1/appointments/:id/hold': {
    right: () => ({ path: `/v1/appointments/${ids.appointments[4] ?? ''}/hold`, body: {} }),
    status: 202,
    otherTenant: () => ({
      path: `/v1/appointments/${ids.appointments[4] ?? ''}/hold?connection=sandbox`,
      body: {},
    }),
  },
  'POST /v1/appointments/:id/reschedule': {
    right: () => ({
      path: `/v1/appointments/${ids.appointments[2] ?? ''}/reschedule`,
      body: { slotId: ids.slots[1] },
    }),
    status: 202,
    otherTenant: () => ({
      path: `/v1/appointments/${ids.appointments[2] ?? ''}/reschedule?connection=sandbox`,
      body: { slotId: ids.slots[1] },
    }),
  },
  'POST /v1/calls': {
    right: () => ({ path: '/v1/calls', body: { patientId: 'pat-0008', startedAt: inHours(-1) } }),
    status: 202,
    otherTenant: () => ({
      path: '/v1/calls?connection=sandbox',
      body: { patientId: 'pat-0008', startedAt: inHours(-1) },
    }),
  },
  'POST /v1/callbacks': {
    right: () => ({ path: '/v1/callbacks', body: { patientId: 'pat-0009', phone: '+16175550123' } }),
    status: 202,
    otherTenant: () => ({
      path: '/v1/callbacks?connection=sandbox',
      body: { patientId: 'pat-0009', phone: '+16175550123' },
    }),
  },
  'GET /v1/operations': {
    right: () => ({ path: '/v1/operations?status=failed' }),
    status: 200,
    otherTenant: () => ({ path: '/v1/operations?status=failed&connection=sandbox' }),
  },
  // Lists only the caller's own tenant: what another tenant sees there is cross-tenant.int.test.ts's.
  'GET /v1/status': { right: () => ({ path: '/v1/status' }), status: 200 },
  'GET /v1/status/history': {
    right: () => ({ path: '/v1/status/history?connection=sandbox&minutes=5' }),
    status: 200,
    otherTenant: () => ({ path: '/v1/status/history?connection=sandbox' }),
  },
  // Lists only the caller's own tenant's runs.
  'GET /v1/operations/replay': { right: () => ({ path: '/v1/operations/replay' }), status: 200 },
  // Gateway-wide figures: no tenant's things are named, so there is no other-tenant case.
  'GET /metrics': { right: () => ({ path: '/metrics' }), status: 200 },
  'GET /v1/operations/:id': {
    right: () => ({ path: `/v1/operations/${ids.receipt}` }),
    status: 200,
    otherTenant: () => ({ path: `/v1/operations/${ids.receipt}` }),
  },
  'POST /v1/operations/replay': {
    right: () => ({ path: '/v1/operations/replay', body: { status: ['failed'] } }),
    status: 200,
    otherTenant: () => ({
      path: '/v1/operations/replay',
      body: { status: ['failed'], connection: 'sandbox', dryRun: false },
    }),
  },
  'GET /v1/operations/replay/:replayId': {
    right: () => ({ path: `/v1/operations/replay/${ids.replay}` }),
    status: 200,
    otherTenant: () => ({ path: `/v1/operations/replay/${ids.replay}` }),
  },
  'POST /v1/operations/replay/:replayId/stop': {
    right: () => ({ path: `/v1/operations/replay/${ids.replay}/stop`, body: {} }),
    status: 200,
    otherTenant: () => ({ path: `/v1/operations/replay/${ids.replay}/stop`, body: {} }),
  },
  'POST /v1/operations/:id/retry': {
    right: () => ({ path: `/v1/operations/${ids.failed}/retry`, body: {} }),
    status: 202,
    otherTenant: () => ({ path: `/v1/operations/${ids.failed}/retry`, body: {} }),
  },
  'POST /v1/operations/:id/cancel': {
    right: () => ({ path: `/v1/operations/${ids.queued}/cancel`, body: {} }),
    status: 200,
    otherTenant: () => ({ path: `/v1/operations/${ids.queued}/cancel`, body: {} }),
  },
  'GET /v1/patients/:id/notices': {
    right: () => ({ path: '/v1/patients/pat-0001/notices' }),
    status: 200,
    otherTenant: () => ({ path: '/v1/patients/pat-0001/notices?connection=sandbox' }),
  },
  // The mapping workbench: `default` runs profile `default` on `sandbox`, `south` profile `south` on `other`.
  'GET /v1/mappings/profiles': { right: () => ({ path: '/v1/mappings/profiles' }), status: 200 },
  'GET /v1/mappings/profiles/:name': {
    right: () => ({ path: '/v1/mappings/profiles/default' }),
    status: 200,
  },
  'POST /v1/mappings/explain': {
    right: () => ({
      path: '/v1/mappings/explain',
      body: { profile: 'default', resourceType: 'Patient', id: 'pat-0001' },
    }),
    status: 200,
    otherTenant: () => ({
      path: '/v1/mappings/explain',
      body: { profile: 'default', connection: 'sandbox', resourceType: 'Patient', id: 'pat-0001' },
    }),
  },
  'POST /v1/mappings/try': {
    right: () => ({
      path: '/v1/mappings/try',
      body: {
        profile: 'default',
        resourceType: 'Patient',
        id: 'pat-0001',
        change: { email: 'm@example.org' },
      },
    }),
    status: 200,
    otherTenant: () => ({
      path: '/v1/mappings/try',
      body: {
        profile: 'default',
        connection: 'sandbox',
        resourceType: 'Patient',
        id: 'pat-0001',
        change: { email: 'm@example.org' },
      },
    }),
  },
  'POST /v1/mappings/evaluate': {
    right: () => ({
      path: '/v1/mappings/evaluate',
      body: {
        profile: 'default',
        resourceType: 'Patient',
        id: 'pat-0001',
        language: 'fhirpath',
        source: 'id',
      },
    }),
    status: 200,
    otherTenant: () => ({
      path: '/v1/mappings/evaluate',
      body: {
        profile: 'default',
        connection: 'sandbox',
        resourceType: 'Patient',
        id: 'pat-0001',
        language: 'fhirpath',
        source: 'id',
      },
    }),
  },
  'POST /v1/mappings/profiles/:name/fixtures': {
    right: () => ({
      path: '/v1/mappings/profiles/default/fixtures',
      body: {
        kind: 'read',
        name: 'matrix',
        overwrite: true,
        input: { resourceType: 'Patient', id: 'matrix-1', gender: 'female' },
      },
    }),
    status: 201,
  },
  'PUT /v1/mappings/profiles/:name/rules': {
    // The rule as it is: compiled and tested, nothing to write.
    right: () => ({
      path: '/v1/mappings/profiles/default/rules',
      body: { edits: [{ file: 'patient.yaml', field: 'read.gender', source: 'gender' }] },
    }),
    status: 200,
  },
  'GET /v1/mappings/versions/:hash': {
    right: () => ({ path: `/v1/mappings/versions/${ids.defaultProfileHash}` }),
    status: 200,
    otherTenant: () => ({ path: `/v1/mappings/versions/${ids.defaultProfileHash}` }),
  },
  'GET /v1/mappings/diff': {
    right: () => ({
      path: `/v1/mappings/diff?from=${ids.defaultProfileHash}&to=${ids.defaultProfileHash}`,
    }),
    status: 200,
    otherTenant: () => ({
      path: `/v1/mappings/diff?from=${ids.defaultProfileHash}&to=${ids.defaultProfileHash}`,
    }),
  },
  // Process-wide; names nothing of a tenant's (its outcome shows the caller's profiles only).
  'POST /v1/mappings/reload': { right: () => ({ path: '/v1/mappings/reload', body: {} }), status: 200 },
  'POST /v1/crisis/closures': {
    right: () => ({
      path: '/v1/crisis/closures',
      body: {
        locations: ['loc-0001'],
        from: inHours(0),
        to: inHours(48),
        action: 'cancel',
        reason: 'weather',
        callback: { priority: 'urgent' },
        dryRun: true,
      },
    }),
    status: 200,
    otherTenant: () => ({
      path: '/v1/crisis/closures',
      body: {
        locations: ['loc-0001'],
        from: inHours(0),
        to: inHours(48),
        action: 'cancel',
        reason: 'weather',
        callback: { priority: 'urgent' },
        dryRun: true,
        connection: 'sandbox',
      },
    }),
  },
  'GET /v1/crisis/closures': { right: () => ({ path: '/v1/crisis/closures' }), status: 200 },
  'GET /v1/crisis/closures/:id': {
    right: () => ({ path: `/v1/crisis/closures/${ids.closure}` }),
    status: 200,
    otherTenant: () => ({ path: `/v1/crisis/closures/${ids.closure}` }),
  },
  'POST /v1/crisis/closures/:id/stop': {
    right: () => ({ path: `/v1/crisis/closures/${ids.closure}/stop`, body: {} }),
    status: 200,
    otherTenant: () => ({ path: `/v1/crisis/closures/${ids.closure}/stop`, body: {} }),
  },
  'GET /v1/audit': { right: () => ({ path: '/v1/audit?patient=pat-0002&limit=5' }), status: 200 },
  'POST /v1/patients/:id/callback-request': {
    right: () => ({ path: '/v1/patients/pat-0009/callback-request', body: {} }),
    status: 202,
    otherTenant: () => ({ path: '/v1/patients/pat-0009/callback-request?connection=sandbox', body: {} }),
  },
  'POST /v1/crisis/activations': {
    right: () => ({
      path: '/v1/crisis/activations',
      body: { kind: 'weather', title: 'Storm', message: 'Downtown is closed today.' },
    }),
    status: 201,
  },
  'GET /v1/crisis/activations': { right: () => ({ path: '/v1/crisis/activations' }), status: 200 },
  'GET /v1/crisis/activations/:id': {
    right: () => ({ path: `/v1/crisis/activations/${ids.activation}` }),
    status: 200,
    otherTenant: () => ({ path: `/v1/crisis/activations/${ids.activation}` }),
  },
  'POST /v1/crisis/activations/:id/end': {
    right: () => ({ path: `/v1/crisis/activations/${ids.activation}/end`, body: {} }),
    status: 200,
    otherTenant: () => ({ path: `/v1/crisis/activations/${ids.activation}/end`, body: {} }),
  },
  'GET /v1/notices': {
    right: () => ({ path: '/v1/notices?location=loc-0001' }),
    status: 200,
    otherTenant: () => ({ path: '/v1/notices?connection=sandbox' }),
  },
  'GET /v1/events/subscribers': { right: () => ({ path: '/v1/events/subscribers' }), status: 200 },
  'GET /admin/queues{/*rest}': { right: () => ({ path: '/admin/queues/api/queues' }), status: 200 },
  'POST /v1/events/subscribers/:name/replay': {
    right: () => ({ path: `/v1/events/subscribers/${SUBSCRIBER}/replay`, body: {} }),
    status: 200,
    otherTenant: () => ({ path: `/v1/events/subscribers/${SUBSCRIBER}/replay`, body: {} }),
  },
  'GET /sandbox/fhir{/*rest}': { right: () => ({ path: '/sandbox/fhir/Patient?_count=1' }), status: 200 },
  'POST /sandbox/fhir{/*rest}': {
    right: () => ({
      path: '/sandbox/fhir/Patient',
      body: { resourceType: 'Patient', name: [{ family: 'Matrix', given: ['Sandy'] }] },
      headers: { 'content-type': 'application/fhir+json' },
    }),
    status: 201,
  },
  'PUT /sandbox/fhir{/*rest}': {
    right: () => ({
      path: '/sandbox/fhir/Patient/pat-0001',
      body: { ...ids.sandboxPatient, gender: 'unknown' },
      headers: { 'content-type': 'application/fhir+json' },
    }),
    status: 200,
  },
  'PATCH /sandbox/fhir{/*rest}': {
    right: () => ({
      path: '/sandbox/fhir/Patient/pat-0002',
      body: JSON.stringify([{ op: 'replace', path: '/gender', value: 'unknown' }]),
      headers: { 'content-type': 'application/json-patch+json' },
    }),
    status: 200,
  },
  'DELETE /sandbox/fhir{/*rest}': { right: () => ({ path: '/sandbox/fhir/Patient/pat-0003' }), status: 200 },
  'GET /sandbox/admin/auth': { right: () => ({ path: '/sandbox/admin/auth' }), status: 200 },
  'POST /sandbox/admin/auth': {
    right: () => ({ path: '/sandbox/admin/auth', body: { invalidateTokens: true } }),
    status: 200,
  },
  'GET /sandbox/admin/faults': { right: () => ({ path: '/sandbox/admin/faults' }), status: 200 },
  'POST /sandbox/admin/faults': {
    right: () => ({ path: '/sandbox/admin/faults', body: { mode: 'up' } }),
    status: 200,
  },
  'DELETE /sandbox/admin/faults': { right: () => ({ path: '/sandbox/admin/faults' }), status: 200 },
  'GET /sandbox/admin/capacity': { right: () => ({ path: '/sandbox/admin/capacity' }), status: 200 },
  'POST /sandbox/admin/capacity/reset': {
    right: () => ({ path: '/sandbox/admin/capacity/reset' }),
    status: 200,
  },
};

const PROTECTED = ROUTE_TABLE.filter((spec) => spec.access !== 'public');
const scopesOfSpec = (spec: RouteSpec): readonly Scope[] =>
  spec.access === 'public' ? [] : scopesOf(spec.access);
const scopeSetKey = (spec: RouteSpec): string => scopesOfSpec(spec).join('|');
const RIGHT_METHODS: readonly CredentialMethod[] = ['bearer', 'x-api-key', 'basic', 'token'];

async function acceptedWrite(patientId: string): Promise<string> {
  const res = await request(api.app)
    .patch(`/v1/patients/${patientId}`)
    .set(admins())
    .send({ email: `matrix-fixture-${patientId}@example.org` });
  if (res.status !== 202) throw new Error(`fixture write refused: ${res.status} ${res.text}`);
  return (res.body as { operationId: string }).operationId;
}

/** No worker runs here: a write stays queued until the test marks it failed, as an outage would. */
async function failedWrite(patientId: string): Promise<string> {
  const id = await acceptedWrite(patientId);
  const op = await api.rig.deps.store.get(id);
  if (op === undefined) throw new Error('the fixture write was not stored');
  await api.rig.deps.store.save(transition(op, { status: 'failed' }, new Date()));
  return id;
}

beforeAll(async () => {
  api = await startInProcessApi({ mountSandbox: true, overrides: CONFIG });
  const adminInfo = await api.access.registry.find('admin');
  if (adminInfo === undefined) throw new Error('no admin client');
  admin = { id: adminInfo.id, key: api.key };
  south = await createClient(api.access, 'south-all', 'south', SCOPES);
  revoked = await createClient(api.access, 'revoked-all', 'default', SCOPES);
  revokedToken = await accessToken(api.app, revoked);
  stray = await createClient(api.access, 'stray-tenant', 'dissolved', SCOPES);
  await api.access.registry.revoke(revoked.id);
  for (const scope of SCOPES) {
    const name = scope.replace(':', '-');
    const mine = await createClient(api.access, `only-${name}`, 'default', [scope]);
    only.set(scope, mine);
    onlyToken.set(scope, await accessToken(api.app, mine));
  }
  const scopeSets = new Map(PROTECTED.map((spec) => [scopeSetKey(spec), scopesOfSpec(spec)]));
  let setIndex = 0;
  for (const [key, opening] of scopeSets) {
    // Client names stop at 63 characters; a route opened by several scopes names a long set.
    const name = `all-but-${setIndex++}-${key.replace(/[:|]/g, '-')}`.slice(0, 63);
    const rest = SCOPES.filter((s) => !opening.includes(s));
    allBut.set(key, await createClient(api.access, name, 'default', rest));
    narrowToken.set(key, await accessToken(api.app, admin, rest));
  }

  const slots = await request(api.app).get('/v1/slots?limit=5').set(admins());
  ids.slots = (json(slots).slots as { id: string }[]).map((s) => s.id);
  const today = new Date().toISOString().slice(0, 10);
  const booked = await http('GET', `${api.rig.fhirBase}/Appointment?status=booked&date=ge${today}&_count=5`);
  ids.appointments = ((booked.body.entry ?? []) as { resource: { id: string } }[]).map((e) => e.resource.id);
  const sandboxPatient = await request(api.app).get('/sandbox/fhir/Patient/pat-0001').set(admins());
  ids.sandboxPatient = json(sandboxPatient) as Record<string, unknown>;
  if (ids.slots.length < 2 || ids.appointments.length < 5 || sandboxPatient.status !== 200) {
    throw new Error('the sandbox seed lacks the slots, appointments or patient the fixtures need');
  }

  const status = await request(api.app).get('/v1/status').set(admins());
  const running = (json(status).mappings as { profiles: { name: string; hash: string }[] }).profiles;
  ids.defaultProfileHash = running.find((profile) => profile.name === 'default')?.hash ?? '';
  if (ids.defaultProfileHash === '') throw new Error('status names no running default profile');

  const activation = await request(api.app)
    .post('/v1/crisis/activations')
    .set(admins())
    .send({ kind: 'outage', title: 'Phones down', message: 'Call the main line.' });
  if (activation.status !== 201) throw new Error(`fixture activation refused: ${activation.status}`);
  ids.activation = (activation.body as { id: string }).id;

  // A real replay of the one failed write there is now; the write retried later is failed after it.
  ids.receipt = await failedWrite('pat-0002');
  const replay = await request(api.app)
    .post('/v1/operations/replay')
    .set(admins())
    .send({ status: ['failed'], dryRun: false, ratePerSecond: 5 });
  if (replay.status !== 202) throw new Error(`fixture replay refused: ${replay.status} ${replay.text}`);
  ids.replay = (replay.body as { replayId: string }).replayId;
  await waitFor(
    async () => {
      const run = await request(api.app).get(`/v1/operations/replay/${ids.replay}`).set(admins());
      return json(run).state === 'finished' ? true : undefined;
    },
    { what: 'the fixture replay to finish' },
  );
  ids.failed = await failedWrite('pat-0003');
  ids.queued = await acceptedWrite('pat-0004');
  // A closure of a window with no visits yet: something to follow and stop, changing nothing.
  const closure = await request(api.app)
    .post('/v1/crisis/closures')
    .set(admins())
    .send({
      locations: ['loc-0001'],
      from: inHours(24 * 300),
      to: inHours(24 * 301),
      action: 'cancel',
      reason: 'weather',
      callback: { priority: 'routine' },
    });
  if (closure.status !== 202) throw new Error(`fixture closure refused: ${closure.status} ${closure.text}`);
  ids.closure = (closure.body as { id: string }).id;
}, 60_000);

afterAll(async () => {
  console.log(`routes ${ROUTE_TABLE.length}, cases ${cases}, unexpected ${unexpected.length}`);
  console.log(`audit records missing ${auditMissing.length} of ${auditedRoutes}`);
  await api.stop();
  rmSync(MAPPINGS, { recursive: true, force: true });
});

describe.each(PROTECTED.map((spec, index) => [routeKey(spec), spec, index] as const))(
  '%s',
  (key, spec, index) => {
    it('refuses every caller but a client of its tenant with its scope, which it serves', async () => {
      const before = unexpected.length;
      const fixture = FIXTURES[key];
      if (fixture === undefined) {
        unexpected.push({ route: key, case: 'fixture', got: 'none', expected: 'a fixture in this test' });
        throw new Error(`no fixture for ${key}: add one to FIXTURES`);
      }
      // Any one of the route's scopes opens it: the right client holds the first alone.
      const scope = scopesOfSpec(spec)[0] as Scope;
      const mine = only.get(scope);
      const lacking = allBut.get(scopeSetKey(spec));
      if (mine === undefined || lacking === undefined) throw new Error(`no clients for ${scope}`);
      const call = fixture.right();
      const refusals: [string, Record<string, string>, Expectation][] = [
        ['no credential', {}, unauthorized],
        ['malformed: Digest scheme', { authorization: 'Digest abc' }, unauthorized],
        ['malformed: Bearer with spaces', { authorization: `Bearer ${admin.key} extra` }, unauthorized],
        ['malformed: Bearer with illegal characters', { authorization: 'Bearer ck_abc$%!"' }, unauthorized],
        [
          'malformed: Basic without colon',
          { authorization: `Basic ${Buffer.from(admin.id + admin.key).toString('base64')}` },
          unauthorized,
        ],
        ['malformed: Basic not base64', { authorization: 'Basic ***' }, unauthorized],
        [
          'malformed: Authorization and X-API-Key',
          { authorization: `Bearer ${admin.key}`, 'x-api-key': admin.key },
          unauthorized,
        ],
        [
          'unknown key',
          { authorization: `Bearer ck_${randomBytes(32).toString('base64url')}` },
          unauthorized,
        ],
        [
          'unknown key (X-API-Key)',
          { 'x-api-key': `ck_${randomBytes(32).toString('base64url')}` },
          unauthorized,
        ],
        ['Basic with a wrong secret', { authorization: basicHeader(mine.id, lacking.key) }, unauthorized],
        ['revoked key', { authorization: `Bearer ${revoked.key}` }, unauthorized],
        ['token of a revoked client', { authorization: `Bearer ${revokedToken}` }, unauthorized],
        ['missing scope (key)', credentialHeaders('bearer', lacking), forbidden(scope)],
        [
          'missing scope (token)',
          { authorization: `Bearer ${narrowToken.get(scopeSetKey(spec)) ?? ''}` },
          forbidden(scope),
        ],
        ['client of an unconfigured tenant', credentialHeaders('bearer', stray), strayTenant],
      ];
      for (const [name, headers, expected] of refusals) {
        await probe(key, name, spec.method, call, headers, expected);
      }
      if (spec.method === 'GET') {
        await probe(key, 'no credential (HEAD)', 'HEAD', call, {}, unauthorizedHead);
        await probe(
          key,
          'unknown key (HEAD)',
          'HEAD',
          call,
          { 'x-api-key': admin.key.slice(0, -2) },
          unauthorizedHead,
        );
      }
      if (fixture.otherTenant) {
        await probe(
          key,
          'other tenant',
          spec.method,
          fixture.otherTenant(),
          credentialHeaders('bearer', south),
          hidden,
        );
      }
      // Last: a write served here must not have been let through by an earlier case.
      const method = RIGHT_METHODS[index % RIGHT_METHODS.length] ?? 'bearer';
      const requestId = `matrix-${index}`;
      const recordedBefore = await auditRecordCount();
      await probe(
        key,
        `right client (${method})`,
        spec.method,
        call,
        { ...credentialHeaders(method, mine, onlyToken.get(scope)), 'x-request-id': requestId },
        answered(fixture.status),
      );
      // The audit trail: exactly one record of the served request, naming who and what; none of
      // the refusals above (they disclose nothing), and one of the other tenant's 404 if any.
      const audit = AUDITED_ROUTES[key];
      const recorded = await auditRecordsOf(requestId);
      if (audit === undefined) {
        unexpected.push({
          route: key,
          case: 'audit',
          got: 'no entry',
          expected: 'an entry in AUDITED_ROUTES',
        });
      } else if (audit === 'not-phi') {
        if (recorded.length !== 0)
          unexpected.push({ route: key, case: 'audit', got: `${recorded.length} records`, expected: 'none' });
      } else {
        auditedRoutes += 1;
        const problem = auditProblem(audit.kind, mine.id, call.path, key, recorded);
        if (problem !== undefined) {
          auditMissing.push(key);
          unexpected.push({ route: key, case: 'audit', got: problem, expected: `one ${audit.kind} record` });
        }
      }
      if ((await auditRecordCount()) !== recordedBefore + (audit === 'not-phi' ? 0 : 1)) {
        unexpected.push({
          route: key,
          case: 'audit',
          got: 'records of other requests',
          expected: 'only its own',
        });
      }
      expect(unexpected.slice(before)).toEqual([]);
    });
  },
);

describe('public routes', () => {
  it('answers probes and the key set without a credential', async () => {
    const before = unexpected.length;
    await probe('GET /healthz', 'no credential', 'GET', { path: '/healthz' }, {}, answered(200));
    await probe('GET /readyz', 'no credential', 'GET', { path: '/readyz' }, {}, answered(200));
    for (const path of [
      '/console',
      '/console/console.js',
      '/console/console-kit.js',
      '/console/console.css',
      '/console/icon.svg',
      '/console/mappings',
      '/console/mappings.js',
      '/console/mappings.css',
    ]) {
      await probe(
        `GET ${path}`,
        'no credential',
        'GET',
        { path },
        {},
        {
          describe: '200 with the console content policy',
          holds: (res) =>
            res.status === 200 && /script-src 'self'/.test(res.headers['content-security-policy'] ?? ''),
        },
      );
    }
    await probe(
      'GET /.well-known/jwks.json',
      'no credential',
      'GET',
      { path: '/.well-known/jwks.json' },
      {},
      {
        describe: '200 with at least one public key',
        holds: (res) => res.status === 200 && Array.isArray(json(res).keys) && json(res).keys.length > 0,
      },
    );
    expect(unexpected.slice(before)).toEqual([]);
  });

  it('answers the API description and its page without a credential', async () => {
    const before = unexpected.length;
    await probe(
      'GET /openapi.json',
      'no credential',
      'GET',
      { path: '/openapi.json' },
      {},
      {
        describe: '200 with an OpenAPI 3.1 document',
        holds: (res) => res.status === 200 && String(json(res).openapi).startsWith('3.1'),
      },
    );
    await probe('GET /docs', 'no credential', 'GET', { path: '/docs' }, {}, answered(200));
    for (const file of ['config.js', 'standalone.js']) {
      await probe(
        'GET /docs/*file',
        `${file}, no credential`,
        'GET',
        { path: `/docs/${file}` },
        {},
        answered(200),
      );
    }
    await probe(
      'GET /docs/*file',
      'unknown file, no credential',
      'GET',
      { path: '/docs/x.js' },
      {},
      noSuchRoute,
    );
    expect(unexpected.slice(before)).toEqual([]);
  });

  it('answers the token endpoint as RFC 6749 says, without a credential of its own', async () => {
    const before = unexpected.length;
    const route = 'POST /oauth/token';
    const client = only.get('patients:read');
    if (client === undefined) throw new Error('no client');
    const oauth = (error: string, status: number): Expectation => ({
      describe: `${status} ${error}`,
      holds: (res) =>
        res.status === status &&
        json(res).error === error &&
        (status !== 401 || /Basic/.test(res.headers['www-authenticate'] ?? '')),
    });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    await probe(
      route,
      'no grant_type',
      'POST',
      { path: '/oauth/token', body: '', headers: form },
      {},
      oauth('invalid_request', 400),
    );
    await probe(
      route,
      'unsupported grant',
      'POST',
      { path: '/oauth/token', body: 'grant_type=password', headers: form },
      {},
      oauth('unsupported_grant_type', 400),
    );
    await probe(
      route,
      'no client authentication',
      'POST',
      { path: '/oauth/token', body: 'grant_type=client_credentials', headers: form },
      {},
      oauth('invalid_client', 401),
    );
    await probe(
      route,
      'wrong client secret',
      'POST',
      { path: '/oauth/token', body: 'grant_type=client_credentials', headers: form },
      { authorization: basicHeader(client.id, `ck_${randomBytes(32).toString('base64url')}`) },
      oauth('invalid_client', 401),
    );
    await probe(
      route,
      'revoked client',
      'POST',
      { path: '/oauth/token', body: 'grant_type=client_credentials', headers: form },
      { authorization: basicHeader(revoked.id, revoked.key) },
      oauth('invalid_client', 401),
    );
    await probe(
      route,
      'scope the client does not hold',
      'POST',
      { path: '/oauth/token', body: 'grant_type=client_credentials&scope=operations%3Aadmin', headers: form },
      { authorization: basicHeader(client.id, client.key) },
      oauth('invalid_scope', 400),
    );
    await probe(
      route,
      'client_secret_post',
      'POST',
      {
        path: '/oauth/token',
        body: `grant_type=client_credentials&client_id=${client.id}&client_secret=${client.key}`,
        headers: form,
      },
      {},
      {
        describe: '200 with a bearer token',
        holds: (res) =>
          res.status === 200 &&
          json(res).token_type === 'Bearer' &&
          typeof json(res).access_token === 'string',
      },
    );
    expect(unexpected.slice(before)).toEqual([]);
  });

  it("leaves the sandbox's token endpoint unserved while the sandbox requires no tokens", async () => {
    const before = unexpected.length;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const headers of [{}, admins()]) {
      await probe(
        'POST /sandbox/auth/token',
        Object.keys(headers).length === 0 ? 'no credential' : 'as admin',
        'POST',
        { path: '/sandbox/auth/token', body: 'grant_type=client_credentials', headers: form },
        headers,
        noSuchRoute,
      );
    }
    expect(unexpected.slice(before)).toEqual([]);
  });

  it('leaves EHR webhooks to their signatures: signed accepted, unsigned refused by the route', async () => {
    const before = unexpected.length;
    const route = 'POST /webhooks/ehr/:connection';
    const patient = await http('GET', `${api.rig.fhirBase}/Patient/pat-0010`);
    const raw = JSON.stringify(patient.body);
    const fhir = { 'content-type': 'application/fhir+json' };
    const signature = createHmac('sha256', HMAC_SECRET).update(raw).digest('hex');
    await probe(
      route,
      'signed, no credential',
      'POST',
      { path: '/webhooks/ehr/sandbox', body: raw, headers: { ...fhir, 'x-signature': signature } },
      {},
      answered(202),
    );
    await probe(
      route,
      'unsigned, no credential',
      'POST',
      { path: '/webhooks/ehr/sandbox', body: raw, headers: fhir },
      {},
      {
        describe: "401 from the route's signature check",
        holds: (res) => res.status === 401 && /not signed/.test(String(detailOf(res))),
      },
    );
    expect(unexpected.slice(before)).toEqual([]);
  });
});

describe('routes outside the table', () => {
  it('refuses an unknown path or method: 401 without a credential, 404 with one', async () => {
    const before = unexpected.length;
    const route = '(not in the table)';
    const unknown: [HttpMethod, string][] = [
      ['GET', '/v1/nothing-here'],
      ['POST', '/admin/queues'],
      ['DELETE', '/v1/patients/pat-0001'],
      ['PUT', '/sandbox/admin/faults'],
      ['PATCH', '/v1/operations/replay/rp_0123456789'],
    ];
    for (const [method, path] of unknown) {
      await probe(route, `${method} ${path} without a credential`, method, { path }, {}, unauthorized);
      await probe(route, `${method} ${path} as admin`, method, { path }, admins(), noSuchRoute);
    }
    expect(unexpected.slice(before)).toEqual([]);
  });

  it('serves no express route that the table does not list', () => {
    const served = endpointsOf(api.app);
    // The walk must see the app's routes at all, or this test could not fail.
    expect(served.flatMap((e) => e.methods.map((m) => `${m} ${e.path}`))).toEqual(
      expect.arrayContaining(['PATCH /v1/patients/:id', 'POST /oauth/token', 'GET /sandbox/admin/faults']),
    );
    expect(unlisted(served)).toEqual([]);
  });

  it('would notice a handler added without a line in the table', () => {
    const extra = express();
    const v1: Router = express.Router();
    v1.get('/patients/:id/secrets', (_req, res) => {
      res.end();
    });
    extra.use('/v1', v1);
    expect(unlisted(endpointsOf(extra))).toEqual(['GET /v1/patients/:id/secrets']);
  });
});

/*
 * PRODUCT BUG (expected to fail until fixed): an OPTIONS request passes access control without a
 * credential. src/http/access-control.ts lets every OPTIONS through ("cors() has answered those it
 * allows"), but cors() answers only preflights from listed origins, and with no origins listed
 * (the default) none at all: every other OPTIONS reaches the routers unauthenticated. Express then
 * answers 200 with an Allow header for each API route (telling an anonymous caller which routes
 * and methods exist), the body parsers under /v1 and /sandbox/fhir read its body, and the sandbox's
 * FHIR handler and fault switch run for it. An OPTIONS that cors() did not answer should be
 * refused like any other request without a credential: 401.
 */
it('[PRODUCT BUG] refuses OPTIONS without a credential when CORS has not answered it', async () => {
  const answeredAnonymously: string[] = [];
  for (const spec of PROTECTED) {
    const fixture = FIXTURES[routeKey(spec)];
    if (fixture === undefined) continue;
    const res = await request(api.app).options(fixture.right().path);
    if (res.status !== 401) {
      answeredAnonymously.push(
        `${routeKey(spec)}: ${res.status}${res.headers.allow ? ` Allow: ${res.headers.allow}` : ''}`,
      );
    }
  }
  expect(answeredAnonymously).toEqual([]);
});

it('meets every expectation of the matrix', () => {
  expect(unexpected).toEqual([]);
});

interface Endpoint {
  readonly methods: readonly string[];
  readonly path: string;
}

interface LayerLike {
  readonly route?: { readonly path: string | string[]; readonly methods: Record<string, boolean> };
  readonly handle?: { readonly stack?: readonly LayerLike[] };
  readonly rawPath?: unknown;
}

/** Every method-and-path route of an express 5 app, by walking its router and mounted routers. */
function endpointsOf(app: Express): Endpoint[] {
  const root = (app as unknown as { router: { stack: readonly LayerLike[] } }).router;
  const walk = (stack: readonly LayerLike[], prefix: string): Endpoint[] =>
    stack.flatMap((layer): Endpoint[] => {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        const methods = Object.keys(layer.route.methods).map((m) => m.toUpperCase());
        return paths.map((path) => ({ methods, path: joinPath(prefix, path) }));
      }
      const nested = layer.handle?.stack;
      if (nested === undefined) return [];
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      return walk(nested, `${prefix}${mount}`);
    });
  return walk(root.stack, '');
}

function joinPath(prefix: string, path: string): string {
  const joined = `${prefix}${path === '/' ? '' : path}`;
  return joined === '' ? '/' : joined;
}

/** A concrete path the pattern matches: every parameter and wildcard filled in. */
function samplePath(pattern: string): string {
  return pattern
    .replace(/\{\/\*\w+\}/g, '/x1')
    .replace(/\*\w+/g, 'x1')
    .replace(/:\w+/g, 'x1');
}

/** Routes the table does not list, as `METHOD path`; `.all()` routes need the table to list one method. */
function unlisted(endpoints: readonly Endpoint[]): string[] {
  const table = routeMatcher();
  const methods: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  return endpoints.flatMap((endpoint) => {
    const sample = samplePath(endpoint.path);
    if (endpoint.methods.includes('_ALL')) {
      return methods.some((m) => table.find(m, sample) !== undefined) ? [] : [`ALL ${endpoint.path}`];
    }
    return endpoint.methods
      .filter((m) => table.find(m, sample) === undefined)
      .map((m) => `${m} ${endpoint.path}`);
  });
}
