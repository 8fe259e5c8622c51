/**
 * What each route records in the audit trail. Every entry of the route table is named here, so a
 * new route cannot be served unrecorded by omission: the unit test fails until it is added, as
 * audited or as `not-phi` (probes, keys, the token endpoint, the sandbox EHR's own API, run status).
 * EHR notifications are recorded when a worker has processed them, not when they arrive.
 */
import type { AuditAction, AuditSubtype } from '../domain/audit';

export interface AuditSpec {
  readonly kind: string;
  readonly action: AuditAction;
  readonly subtype: AuditSubtype;
}

const read = (kind: string): AuditSpec => ({ kind, action: 'R', subtype: 'read' });
const search = (kind: string): AuditSpec => ({ kind, action: 'E', subtype: 'search-type' });
const create = (kind: string): AuditSpec => ({ kind, action: 'C', subtype: 'create' });
const update = (kind: string): AuditSpec => ({ kind, action: 'U', subtype: 'update' });
const execute = (kind: string): AuditSpec => ({ kind, action: 'E', subtype: 'operation' });

export const AUDITED_ROUTES: Readonly<Record<string, AuditSpec | 'not-phi'>> = {
  'GET /healthz': 'not-phi',
  'GET /readyz': 'not-phi',
  'GET /.well-known/jwks.json': 'not-phi',
  'POST /oauth/token': 'not-phi',
  'POST /webhooks/ehr/:connection': 'not-phi',
  'GET /console': 'not-phi',
  'GET /console/console.js': 'not-phi',
  'GET /console/console-kit.js': 'not-phi',
  'GET /console/console.css': 'not-phi',
  'GET /console/icon.svg': 'not-phi',
  'GET /console/mappings': 'not-phi',
  'GET /console/mappings.js': 'not-phi',
  'GET /console/mappings.css': 'not-phi',
  'GET /openapi.json': 'not-phi',
  'GET /docs': 'not-phi',
  'GET /docs/*file': 'not-phi',

  'GET /v1/patients/lookup': search('patient.lookup'),
  'POST /v1/patients/verify': execute('patient.verify'),
  'GET /v1/patients/:id': read('patient.read'),
  'GET /v1/patients/:id/summary': read('patient.summary'),
  'POST /v1/patients': create('patient.create'),
  'POST /v1/patients/:id/update': update('patient.update'),
  'PATCH /v1/patients/:id': update('patient.update'),

  'GET /v1/patients/:id/appointments': search('appointment.search'),
  'GET /v1/slots': search('slot.search'),
  'POST /v1/appointments': create('appointment.book'),
  'POST /v1/appointments/:id/cancel': update('appointment.cancel'),
  'POST /v1/appointments/:id/confirm': update('appointment.confirm'),
  'POST /v1/appointments/:id/reschedule': update('appointment.reschedule'),
  'POST /v1/appointments/:id/convert': update('appointment.convert'),
  'POST /v1/appointments/:id/hold': update('appointment.hold'),

  'POST /v1/calls': create('call.log'),
  'POST /v1/callbacks': create('callback.request'),
  'POST /v1/patients/:id/callback-request': create('callback.request'),

  'GET /v1/patients/:id/notices': read('patient.notices'),
  // Submissions and dry runs name patients (dry runs list them): both are recorded.
  'POST /v1/crisis/closures': execute('crisis.closure'),
  'GET /v1/crisis/closures': 'not-phi',
  'GET /v1/crisis/closures/:id': 'not-phi',
  'POST /v1/crisis/closures/:id/stop': execute('crisis.closure-stop'),

  'GET /v1/operations': search('operation.search'),
  'GET /v1/status': 'not-phi',
  'GET /v1/status/history': 'not-phi',
  'GET /v1/operations/replay': 'not-phi',
  'GET /v1/operations/:id': read('operation.read'),
  'POST /v1/operations/replay': execute('operation.replay'),
  'GET /v1/operations/replay/:replayId': 'not-phi',
  'POST /v1/operations/replay/:replayId/stop': execute('operation.replay-stop'),
  'POST /v1/operations/:id/retry': execute('operation.retry'),
  'POST /v1/operations/:id/cancel': execute('operation.cancel'),

  'GET /v1/audit': search('audit.search'),

  // Profile versions and reloads: who changed what the gateway maps with, and who looked.
  'POST /v1/mappings/reload': execute('mapping.reload'),
  'GET /v1/mappings/versions/:hash': read('mapping.version'),
  'GET /v1/mappings/diff': read('mapping.diff'),

  // The mapping workbench shows records rule by rule, and changes profiles: every call is recorded.
  'GET /v1/mappings/profiles': read('mapping.profiles'),
  'GET /v1/mappings/profiles/:name': read('mapping.profile'),
  'POST /v1/mappings/explain': read('mapping.explain'),
  'POST /v1/mappings/try': read('mapping.try'),
  'POST /v1/mappings/evaluate': read('mapping.evaluate'),
  'POST /v1/mappings/profiles/:name/fixtures': create('mapping.fixture'),
  'PUT /v1/mappings/profiles/:name/rules': update('mapping.rules'),

  // Crisis leads' acts: who declared, looked at and ended what, and when.
  'POST /v1/crisis/activations': create('crisis.activation'),
  'GET /v1/crisis/activations': search('crisis.activation-search'),
  'GET /v1/crisis/activations/:id': read('crisis.activation'),
  'POST /v1/crisis/activations/:id/end': execute('crisis.activation-end'),
  // Operational messages to every caller, read on every IVR call: nothing about a patient.
  'GET /v1/notices': 'not-phi',

  'GET /v1/events/subscribers': 'not-phi',

  // Operation ids and counts only: job contents are reduced to ids (see wiring/queue-dashboard.ts).
  'GET /admin/queues{/*rest}': 'not-phi',
  'GET /metrics': 'not-phi',
  'POST /v1/events/subscribers/:name/replay': execute('event.replay'),

  'GET /sandbox/fhir{/*rest}': 'not-phi',
  'POST /sandbox/fhir{/*rest}': 'not-phi',
  'PUT /sandbox/fhir{/*rest}': 'not-phi',
  'PATCH /sandbox/fhir{/*rest}': 'not-phi',
  'DELETE /sandbox/fhir{/*rest}': 'not-phi',
  'POST /sandbox/auth/token': 'not-phi',
  'GET /sandbox/admin/auth': 'not-phi',
  'POST /sandbox/admin/auth': 'not-phi',
  'GET /sandbox/admin/faults': 'not-phi',
  'POST /sandbox/admin/faults': 'not-phi',
  'DELETE /sandbox/admin/faults': 'not-phi',
  'GET /sandbox/admin/capacity': 'not-phi',
  'POST /sandbox/admin/capacity/reset': 'not-phi',
};
