/**
 * The documentation of every route of the route table, by route key (`GET /v1/patients/:id`).
 * Request schemas are the ones the handlers validate with; response schemas are written for the
 * document and checked against the domain types (src/http/schemas/*.response.ts). A route added
 * to the table without an entry here fails the route-coverage test. A route answering anything
 * but JSON (an HTML page, text/plain metrics) names its `mediaType` and has no schema.
 */
import { z } from 'zod';
import type { CountryCode } from '../../phone';
import { auditQuery } from '../schemas/audit.schema';
import { auditPageSchema } from '../schemas/audit.response';
import { jwksSchema, oauthErrorSchema, tokenRequestSchema, tokenSchema } from '../schemas/access.response';
import {
  bookingSchema,
  cancelSchema,
  confirmSchema,
  convertSchema,
  holdSchema,
  rescheduleSchema,
} from '../schemas/booking.schema';
import { callbackSchema, callSchema } from '../schemas/call.schema';
import {
  activationBody,
  activationIdPath,
  activationListQuery,
  callbackRequestBody,
  noticesQuery,
} from '../schemas/crisis.schema';
import {
  activationListSchema,
  activationSchema,
  callbackRequestReceiptSchema,
  noticeListSchema,
} from '../schemas/crisis.response';
import { lookupQuerySchema } from '../schemas/lookup-query.schema';
import { listOperationsQuery, replayBody } from '../schemas/operations.schema';
import {
  replayPlanSchema,
  replayRunListSchema,
  replayRunSchema,
  subscriberListSchema,
  subscriberReplaySchema,
} from '../schemas/operations.response';
import { newPatientSchema, patientChangesSchema } from '../schemas/patient-changes.schema';
import {
  lookupResultSchema,
  patientSummarySchema,
  patientViewSchema,
  verifyResultSchema,
} from '../schemas/patient.response';
import {
  appointmentIdPath,
  connectionPath,
  connectionQuery,
  docsAssetPath,
  operationIdPath,
  patientAppointmentsQuery,
  patientIdPath,
  queueDashboardPath,
  replayIdPath,
  sandboxFhirPath,
  slotsQuery,
  subscriberPath,
  summaryQuery,
} from '../schemas/read-query.schema';
import { receiptListSchema, receiptSchema } from '../schemas/receipt.response';
import { appointmentListSchema, slotListSchema } from '../schemas/scheduling.response';
import {
  healthSchema,
  pipelineStatusSchema,
  profileReloadOutcomeSchema,
  readinessSchema,
  statusHistorySchema,
} from '../schemas/status.response';
import { statusHistoryQuery } from '../schemas/status-history.schema';
import {
  mappingDiffQuery,
  mappingDiffSchema,
  mappingHashPath,
  mappingVersionSchema,
} from '../schemas/mapping-versions.schema';
import { verifyRequestSchema } from '../schemas/verify.schema';
import { closureListQuery, closureSchema as closureRequestSchema } from '../schemas/closure.schema';
import {
  closureDryRunSchema,
  closureListSchema,
  closureSchema,
  patientNoticesSchema,
} from '../schemas/closure.response';
import {
  evaluateBody,
  explainBody,
  fixtureBody,
  profileNamePath,
  rulesBody,
  tryBody,
} from '../schemas/mappings.schema';
import {
  evaluateSchema,
  explainSchema,
  fixtureSavedSchema,
  profileDetailSchema,
  profileListSchema,
  rulesSavedSchema,
  trySchema,
} from '../schemas/mappings.response';
import { named, type RouteDoc } from './route-doc';

/** A JSON object this document does not detail; each use its own, since one schema has one name. */
const anyObject = () => z.looseObject({});
const closureIdPath = z.object({
  id: z
    .string()
    .regex(/^clo_[a-f0-9]{24}$/)
    .describe('The id of a site closure'),
});
const fhirResource = named('FhirResource', z.looseObject({ resourceType: z.string() }));
const ifMatch = z.object({
  'If-Match': z.string().optional().describe('The ETag of the version the agent saw: W/"<version>"'),
});

const profileIfMatch = z.object({
  'If-Match': z
    .string()
    .optional()
    .describe('The files hash the edits were made on ("<hash>", from GET /v1/mappings/profiles/:name)'),
});

/** Every route's entry; numbers are read in `phoneRegion` (the default connection's). */
export function routeDocs(phoneRegion: CountryCode): Readonly<Record<string, RouteDoc>> {
  const receipt = named('Receipt', receiptSchema);
  const sandboxSwitch = named('SandboxSwitch', anyObject());
  const sandboxState = named('SandboxState', anyObject());
  const sandboxCapacity = named('SandboxCapacity', anyObject());
  const sandboxCapacityDoc = (summary: string, description: string): RouteDoc => ({
    summary,
    description,
    tag: 'Sandbox EHR',
    responses: { 200: { description: 'The capacity figures', schema: sandboxCapacity } },
  });
  const changes = named('PatientChangesRequest', patientChangesSchema(phoneRegion));
  const correction: RouteDoc = {
    summary: 'Correct a patient’s contact details',
    tag: 'Patients',
    path: patientIdPath,
    query: connectionQuery,
    headers: ifMatch,
    body: { schema: changes, form: true, required: true },
    write: true,
  };
  const sandboxFhir = (summary: string, withBody: boolean): RouteDoc => ({
    summary,
    description:
      'The built-in sandbox EHR, FHIR R4. With `sandbox.auth` on it checks its own OAuth tokens ' +
      '(from POST /sandbox/auth/token) instead of the gateway credentials.',
    tag: 'Sandbox EHR',
    path: sandboxFhirPath,
    ...(withBody
      ? {
          body: {
            schema: fhirResource,
            form: false,
            mediaTypes: ['application/fhir+json', 'application/json-patch+json'],
          },
        }
      : {}),
    responses: {
      200: {
        description: 'A FHIR resource or Bundle',
        schema: fhirResource,
        mediaType: 'application/fhir+json',
      },
    },
  });
  const sandboxAdmin = (summary: string, withBody: boolean): RouteDoc => ({
    summary,
    tag: 'Sandbox EHR',
    ...(withBody ? { body: { schema: sandboxSwitch, form: false } } : {}),
    responses: { 200: { description: 'The switch as it now stands', schema: sandboxState } },
  });

  return {
    'GET /healthz': {
      summary: 'Liveness',
      tag: 'Health',
      responses: { 200: { description: 'The process answers', schema: named('Health', healthSchema) } },
    },
    'GET /readyz': {
      summary: 'Readiness',
      description: 'Redis answers and start-up is done; each EHR connection reported alongside.',
      tag: 'Health',
      responses: {
        200: { description: 'Ready', schema: named('Readiness', readinessSchema) },
        503: {
          description: 'Not ready (Redis down, starting or stopping)',
          schema: named('Readiness', readinessSchema),
        },
      },
    },
    'GET /.well-known/jwks.json': {
      summary: 'Keys that verify access tokens',
      tag: 'Access',
      responses: { 200: { description: 'A JWK set', schema: named('JwkSet', jwksSchema) } },
    },
    'POST /oauth/token': {
      summary: 'Get an access token (client credentials)',
      description:
        'The client authenticates with Basic (client_secret_basic) or client_id and client_secret in ' +
        'the body (client_secret_post), never both. Errors follow RFC 6749, not problem+json.',
      tag: 'Access',
      body: {
        schema: named('TokenRequest', tokenRequestSchema),
        form: true,
        mediaTypes: ['application/x-www-form-urlencoded', 'application/json'],
        required: true,
      },
      responses: {
        200: { description: 'A bearer token', schema: named('Token', tokenSchema) },
        400: {
          description: 'invalid_request, unsupported_grant_type or invalid_scope',
          schema: named('OAuthError', oauthErrorSchema),
        },
        401: {
          description: 'invalid_client',
          schema: named('OAuthError', oauthErrorSchema),
          headers: ['WWW-Authenticate'],
        },
      },
    },
    'POST /webhooks/ehr/:connection': {
      summary: 'Receive an EHR notification',
      description:
        "Signed per the connection's scheme (HMAC, Standard Webhooks...); the body is read as sent, in " +
        'any content type. 202 once durably queued; unsigned, forged, stale or replayed: refused.',
      tag: 'EHR notifications',
      path: connectionPath,
      body: { schema: fhirResource, form: false, mediaTypes: ['application/fhir+json', 'application/json'] },
      responses: {
        202: {
          description: 'Queued',
          schema: named(
            'NotificationAccepted',
            z.object({ accepted: z.literal(true), refs: z.array(z.string()), reread: z.boolean() }),
          ),
        },
      },
      problems: ['UNAUTHORIZED', 'NOT_FOUND', 'DUPLICATE_EVENT', 'QUEUE_UNAVAILABLE'],
    },

    'GET /v1/patients/lookup': {
      summary: 'Look a caller up by phone number',
      description:
        'The screen pop. The number may be written any common way; it is read as E.164. Nobody ' +
        'found answers 200 `{"found": false}`: IVR flows branch on the body.',
      tag: 'Patients',
      query: connectionQuery.extend(lookupQuerySchema(phoneRegion).shape),
      responses: {
        200: { description: 'Who has this number', schema: named('LookupResult', lookupResultSchema) },
      },
      problems: ['EHR_UNAVAILABLE'],
    },
    'POST /v1/patients/verify': {
      summary: 'Verify a caller’s identity',
      description:
        'A birth date plus family name, MRN and/or phone. Always 200; a mismatch of any kind is ' +
        '`{"verified": false}`. Too many failures: 429 TOO_MANY_ATTEMPTS with Retry-After.',
      tag: 'Patients',
      query: connectionQuery,
      body: { schema: named('VerifyRequest', verifyRequestSchema(phoneRegion)), form: true, required: true },
      responses: {
        200: { description: 'Verified or not', schema: named('VerifyResult', verifyResultSchema) },
      },
      problems: ['TOO_MANY_ATTEMPTS', 'EHR_UNAVAILABLE'],
    },
    'GET /v1/patients/:id': {
      summary: 'Read a patient’s demographics',
      tag: 'Patients',
      path: patientIdPath,
      query: connectionQuery,
      responses: {
        200: {
          description: 'The patient, queued corrections overlaid',
          schema: named('PatientView', patientViewSchema),
          headers: ['ETag'],
        },
      },
      problems: ['NOT_FOUND', 'EHR_UNAVAILABLE'],
    },
    'GET /v1/patients/:id/summary': {
      summary: 'Screen pop: demographics and upcoming visits',
      tag: 'Patients',
      path: patientIdPath,
      query: summaryQuery,
      responses: {
        200: {
          description: 'The summary',
          schema: named('PatientSummary', patientSummarySchema),
          headers: ['ETag'],
        },
      },
      problems: ['NOT_FOUND', 'EHR_UNAVAILABLE'],
    },
    'POST /v1/patients': {
      summary: 'Register a caller as a new patient',
      description: 'With an `mrn`, created only if the EHR holds no patient with it (then 200, not 201).',
      tag: 'Patients',
      query: connectionQuery,
      body: { schema: named('NewPatientRequest', newPatientSchema(phoneRegion)), form: true, required: true },
      write: true,
    },
    'PATCH /v1/patients/:id': correction,
    'POST /v1/patients/:id/update': {
      ...correction,
      summary: 'Correct a patient’s contact details (POST, for IVR tools)',
      description: 'The same as PATCH /v1/patients/{id}, for tools that can only POST.',
    },

    'GET /v1/patients/:id/appointments': {
      summary: 'List a patient’s appointments',
      tag: 'Scheduling',
      path: patientIdPath,
      query: patientAppointmentsQuery,
      responses: {
        200: { description: 'Earliest first', schema: named('AppointmentList', appointmentListSchema) },
      },
      problems: ['NOT_FOUND', 'EHR_UNAVAILABLE'],
    },
    'GET /v1/slots': {
      summary: 'Find free slots',
      tag: 'Scheduling',
      query: slotsQuery,
      responses: { 200: { description: 'Earliest first', schema: named('SlotList', slotListSchema) } },
      problems: ['EHR_UNAVAILABLE'],
    },
    'POST /v1/appointments': {
      summary: 'Book an appointment',
      tag: 'Scheduling',
      query: connectionQuery,
      body: { schema: named('BookingRequest', bookingSchema), form: true, required: true },
      write: true,
      problems: ['SLOT_TAKEN', 'LOCATION_CLOSED'],
    },
    'POST /v1/appointments/:id/cancel': {
      summary: 'Cancel an appointment',
      description:
        "The slot is freed. `reason` must be a cancellation reason of the EHR's mapping profile table: " +
        'any other value is refused with 422 VALIDATION, its `acceptedReasons` listing those there are, ' +
        'and nothing is queued.',
      tag: 'Scheduling',
      path: appointmentIdPath,
      query: connectionQuery,
      body: { schema: named('CancelRequest', cancelSchema), form: true },
      write: true,
      problemsAt: { 422: ['VALIDATION'] },
    },
    'POST /v1/appointments/:id/confirm': {
      summary: 'Confirm the patient will come',
      tag: 'Scheduling',
      path: appointmentIdPath,
      query: connectionQuery,
      body: { schema: named('ConfirmRequest', confirmSchema), form: true },
      write: true,
    },
    'POST /v1/appointments/:id/reschedule': {
      summary: 'Move an appointment to another slot',
      description: 'Books the new slot, then cancels the old; the old stays if the booking fails.',
      tag: 'Scheduling',
      path: appointmentIdPath,
      query: connectionQuery,
      body: { schema: named('RescheduleRequest', rescheduleSchema), form: true, required: true },
      write: true,
      problemsAt: { 422: ['VALIDATION'] },
      problems: ['SLOT_TAKEN'],
    },
    'POST /v1/appointments/:id/convert': {
      summary: 'Turn a visit into a video or phone visit',
      description:
        'Same time, same slot, another visit mode. `409 CONFLICT` when the visit is not booked (cancelled, ' +
        'held, already took place). A visit that already has the mode is accepted and succeeds with no ' +
        "change; the receipt's note says so. Subscribers hear `appointment.rescheduled` with " +
        '`change: "mode"` and the new `mode`.',
      tag: 'Scheduling',
      path: appointmentIdPath,
      query: connectionQuery,
      body: { schema: named('ConvertRequest', convertSchema), form: true, required: true },
      write: true,
      problemsAt: { 422: ['VALIDATION'] },
      problems: ['NOT_FOUND'],
    },
    'POST /v1/appointments/:id/hold': {
      summary: 'Hold a visit for reschedule',
      description:
        'Takes the visit off the schedule (FHIR status `waitlist`, the reason recorded) and frees its slot; ' +
        'the patient is to be called back for a new time. `409 CONFLICT` when the visit is cancelled or ' +
        'already took place; one already held succeeds with no change. Subscribers hear ' +
        '`appointment.rescheduled` with `change: "held"`.',
      tag: 'Scheduling',
      path: appointmentIdPath,
      query: connectionQuery,
      body: { schema: named('HoldRequest', holdSchema), form: true },
      write: true,
      problemsAt: { 422: ['VALIDATION'] },
      problems: ['NOT_FOUND'],
    },

    'POST /v1/calls': {
      summary: 'Log a call',
      description: 'An Encounter plus a Communication with the notes.',
      tag: 'Calls',
      query: connectionQuery,
      body: { schema: named('CallLogRequest', callSchema), form: true, required: true },
      write: true,
    },
    'POST /v1/callbacks': {
      summary: 'Request a callback',
      description: 'A Task in the EHR; subscribers hear `callback.requested`.',
      tag: 'Calls',
      query: connectionQuery,
      body: { schema: named('CallbackRequest', callbackSchema(phoneRegion)), form: true, required: true },
      write: true,
    },

    'POST /v1/patients/:id/callback-request': {
      summary: 'Request a callback in one step (IVR)',
      description:
        "The number is the patient record's first dialable one (with the patient's queued corrections; " +
        "the continuity cache's copy while the EHR is down, marked `numberFrom: cache` and noted on the " +
        'Task), unless `phone` is sent. The first callback window with room (`callbacks.windows`) is ' +
        'reserved and a `callback.request` write queued. `?shape=flat` flattens the answer. A retry with ' +
        'the same Idempotency-Key or contact id answers the first request and takes no second place.',
      tag: 'Calls',
      path: patientIdPath,
      query: connectionQuery.extend({
        shape: z
          .enum(['flat'])
          .optional()
          .describe('`flat`: the answer as one level of strings, for IVR flows'),
      }),
      body: { schema: named('CallbackRequestOneStep', callbackRequestBody(phoneRegion)), form: true },
      write: true,
      receipt: named('CallbackRequestReceipt', callbackRequestReceiptSchema),
      problems: ['NOT_FOUND', 'NO_CALLBACK_NUMBER', 'CALLBACK_WINDOWS_FULL', 'EHR_UNAVAILABLE'],
    },

    'GET /v1/operations': {
      summary: 'List receipts by status',
      tag: 'Operations',
      query: listOperationsQuery,
      responses: { 200: { description: 'Receipts', schema: named('ReceiptList', receiptListSchema) } },
    },
    'GET /v1/operations/:id': {
      summary: 'Follow a receipt',
      tag: 'Operations',
      path: operationIdPath,
      responses: { 200: { description: 'The receipt', schema: receipt } },
      problems: ['NOT_FOUND'],
    },
    'POST /v1/operations/:id/retry': {
      summary: 'Retry a failed write',
      tag: 'Operations',
      path: operationIdPath,
      responses: { 202: { description: 'Queued again', schema: receipt, headers: ['Location'] } },
      problems: ['NOT_FOUND', 'CONFLICT'],
    },
    'POST /v1/operations/:id/cancel': {
      summary: 'Cancel a write not yet sent',
      tag: 'Operations',
      path: operationIdPath,
      responses: { 200: { description: 'Cancelled', schema: receipt } },
      problems: ['NOT_FOUND', 'CONFLICT'],
    },
    'POST /v1/operations/replay': {
      summary: 'Replay failed writes',
      description: 'Looks only (`dryRun`, the default) unless told `dryRun: false`.',
      tag: 'Operations',
      body: { schema: named('ReplayRequest', replayBody), form: true, required: true },
      responses: {
        200: { description: 'The plan of a dry run', schema: named('ReplayPlan', replayPlanSchema) },
        202: { description: 'Started', schema: named('ReplayRun', replayRunSchema), headers: ['Location'] },
      },
    },
    'GET /v1/operations/replay': {
      summary: 'List replay runs',
      description:
        "The caller's tenant's runs. A run lives in the API process that started it: behind a load " +
        'balancer, the list shows the runs of the process that answered.',
      tag: 'Operations',
      responses: { 200: { description: 'The runs', schema: named('ReplayRunList', replayRunListSchema) } },
    },
    'GET /v1/operations/replay/:replayId': {
      summary: 'Follow a replay',
      tag: 'Operations',
      path: replayIdPath,
      responses: { 200: { description: 'The run', schema: named('ReplayRun', replayRunSchema) } },
      problems: ['NOT_FOUND'],
    },
    'POST /v1/operations/replay/:replayId/stop': {
      summary: 'Stop a replay',
      tag: 'Operations',
      path: replayIdPath,
      responses: { 200: { description: 'The run, stopped', schema: named('ReplayRun', replayRunSchema) } },
      problems: ['NOT_FOUND'],
    },
    'GET /v1/status': {
      summary: 'Write pipeline, subscribers and storage',
      tag: 'Operations',
      responses: {
        200: { description: 'Per connection', schema: named('PipelineStatus', pipelineStatusSchema) },
      },
    },
    'GET /v1/status/history': {
      summary: "One connection's pipeline over the last hour",
      description:
        'Backlog, failures, drain rate and breaker state, sampled every `statusHistory.intervalMs` and ' +
        'kept for an hour: what the console charts.',
      tag: 'Operations',
      query: statusHistoryQuery,
      responses: {
        200: { description: 'Samples, oldest first', schema: named('StatusHistory', statusHistorySchema) },
      },
      problems: ['NOT_FOUND'],
    },

    'GET /v1/patients/:id/notices': {
      summary: 'What a crisis did to a patient’s visits',
      description:
        'One notice per visit a site closure changed and one for the callback it arranged, each with a ' +
        'sentence to read out ("Your Tuesday 8 December 10:00 visit at Dorchester is now a video ' +
        'visit.") and the state of its write; the callback notice says its window ("We will call you ' +
        'back on Monday 7 December between 14:00 and 16:00.", `callbackStart`, `callbackEnd`). ' +
        'Answers from Continuum’s records while the EHR is down ' +
        '(`freshness.source: cache`). `?shape=flat` for IVR flows.',
      tag: 'Crisis',
      path: patientIdPath,
      query: connectionQuery,
      responses: {
        200: { description: 'Oldest closure first', schema: named('PatientNotices', patientNoticesSchema) },
      },
      problems: ['NOT_FOUND'],
    },
    'POST /v1/crisis/closures': {
      summary: 'Close sites for a time',
      description:
        'Every booked, pending or proposed visit at the locations with a start in [from, to) is cancelled, ' +
        'turned into a video or phone visit, or held for rescheduling, through the write pipeline (urgent, ' +
        'exactly once), and each affected patient gets one callback. `dryRun: true` only counts (by local day, ' +
        'location, practitioner) and changes nothing. The same closure submitted again (same connection, ' +
        'locations, window and action) answers 200 with the first one; `Idempotency-Key` is honoured too. ' +
        'A tenant confined to locations may close only those (403). The run resumes after a restart. ' +
        "`reason` is every visit's cancellation reason: one of the mapping profile's table, else 422 " +
        'VALIDATION listing them (`acceptedReasons`), dry run or not.',
      tag: 'Crisis',
      body: { schema: named('SiteClosureRequest', closureRequestSchema), form: false, required: true },
      responses: {
        200: {
          description: 'A dry run, or the same closure submitted again',
          schema: named('SiteClosureDryRun', closureDryRunSchema),
        },
        202: {
          description: 'Accepted: its run started',
          schema: named('SiteClosure', closureSchema),
          headers: ['Location'],
        },
      },
      problems: ['FORBIDDEN', 'IDEMPOTENCY_MISMATCH', 'EHR_UNAVAILABLE'],
      problemsAt: { 422: ['VALIDATION'] },
    },
    'GET /v1/crisis/closures': {
      summary: 'List site closures',
      tag: 'Crisis',
      query: closureListQuery,
      responses: {
        200: { description: 'Newest first', schema: named('SiteClosureList', closureListSchema) },
      },
    },
    'GET /v1/crisis/closures/:id': {
      summary: 'Follow a site closure',
      description: 'Progress from the receipts of its writes: done, failed, remaining, rate and ETA.',
      tag: 'Crisis',
      path: closureIdPath,
      responses: { 200: { description: 'The closure', schema: named('SiteClosure', closureSchema) } },
      problems: ['NOT_FOUND'],
    },
    'POST /v1/crisis/closures/:id/stop': {
      summary: 'Stop a site closure',
      description:
        'Changes no further visit and cancels its changes not yet sent; those already sent finish. ' +
        'Patients whose visit was changed are still called back; the other callbacks are cancelled. ' +
        'Stopping again changes nothing.',
      tag: 'Crisis',
      path: closureIdPath,
      responses: { 200: { description: 'The stopped closure', schema: named('SiteClosure', closureSchema) } },
      problems: ['NOT_FOUND'],
    },

    'POST /v1/mappings/reload': {
      summary: 'Reload the mapping profiles of this process',
      description:
        'Reads the profiles in use from disk and checks them as start-up does (lint, fixtures, the MRN ' +
        'system, a sample of real records); only then do new writes use them. Writes already queued keep ' +
        'the version they were accepted under. Refused with the problems when a check fails: the running ' +
        'versions stay. This process only: a deployment of several processes reloads each one (or sends ' +
        'each SIGHUP).',
      tag: 'Mappings',
      responses: {
        200: { description: 'Reloaded', schema: named('ProfileReloadOutcome', profileReloadOutcomeSchema) },
      },
      problems: ['VALIDATION'],
      problemsAt: { 422: ['VALIDATION'] },
    },
    'GET /v1/mappings/versions/:hash': {
      summary: 'A stored mapping profile version',
      tag: 'Mappings',
      path: mappingHashPath,
      responses: { 200: { description: 'Its files', schema: named('MappingVersion', mappingVersionSchema) } },
      problems: ['VALIDATION', 'NOT_FOUND'],
    },
    'GET /v1/mappings/diff': {
      summary: 'What changed between two mapping profile versions',
      tag: 'Mappings',
      query: mappingDiffQuery,
      responses: {
        200: { description: 'A unified diff per file', schema: named('MappingDiff', mappingDiffSchema) },
      },
      problems: ['VALIDATION', 'NOT_FOUND'],
    },

    'GET /v1/audit': {
      summary: 'Search the audit trail',
      tag: 'Audit',
      query: auditQuery,
      responses: {
        200: { description: 'Newest first, paged by cursor', schema: named('AuditPage', auditPageSchema) },
      },
    },

    'GET /v1/mappings/profiles': {
      summary: "List the tenant's mapping profiles",
      description:
        'The profiles the tenant’s connections use: running version, the hash of the files on disk, ' +
        'connections, files and fixture counts per kind, with the last reload and fields found empty ' +
        'on every sampled record.',
      tag: 'Mappings',
      responses: {
        200: { description: 'The profiles', schema: named('MappingProfileList', profileListSchema) },
      },
    },
    'GET /v1/mappings/profiles/:name': {
      summary: 'Read a mapping profile',
      description: 'Its YAML files, every rule (file, field, language, source) and its fixtures.',
      tag: 'Mappings',
      path: profileNamePath,
      responses: {
        200: { description: 'The profile', schema: named('MappingProfileDetail', profileDetailSchema) },
      },
      problems: ['NOT_FOUND'],
    },
    'POST /v1/mappings/explain': {
      summary: 'Explain a record under a profile',
      description:
        'Each model field of a Patient, Appointment or Slot (live by `id` from the connection, or given ' +
        'as `resource`) with its file, rule, expression and value; an empty field says why, in terms of ' +
        'the record. With `edits` the profile is compiled with them first; their problems come back ' +
        'in `problems` (200). Shows record values: for integration engineers, audited.',
      tag: 'Mappings',
      body: { schema: named('MappingExplainRequest', explainBody), form: false, required: true },
      responses: {
        200: { description: 'Field by field', schema: named('MappingExplanation', explainSchema) },
      },
      problems: ['NOT_FOUND', 'EHR_UNAVAILABLE'],
    },
    'POST /v1/mappings/try': {
      summary: 'Try a change on a record, without sending it',
      description:
        'The FHIR record before and after a Patient correction or an Appointment cancel, convert or ' +
        'hold, the JSON Patch between them and the request a worker would send (with If-Match). ' +
        'Nothing reaches the EHR.',
      tag: 'Mappings',
      body: { schema: named('MappingTryRequest', tryBody), form: false, required: true },
      responses: { 200: { description: 'The change', schema: named('MappingTry', trySchema) } },
      problems: ['NOT_FOUND', 'EHR_UNAVAILABLE'],
    },
    'POST /v1/mappings/evaluate': {
      summary: 'Evaluate one expression on a record',
      description:
        'A FHIRPath expression or JSONata template with the profile’s constants and functions; a bad ' +
        'one answers 200 with `error` (message, line, column).',
      tag: 'Mappings',
      body: { schema: named('MappingEvaluateRequest', evaluateBody), form: false, required: true },
      responses: { 200: { description: 'The result', schema: named('MappingEvaluation', evaluateSchema) } },
      problems: ['NOT_FOUND', 'EHR_UNAVAILABLE'],
    },
    'POST /v1/mappings/profiles/:name/fixtures': {
      summary: 'Save a fixture to a profile',
      description:
        'Writes `fixtures/<kind>/<name>.json`; `expected` defaults to what the profile (with `edits`) ' +
        'produces. The fixture is run against the profile first: one that fails answers 422 with ' +
        '`problems` and nothing is written. An existing fixture is replaced only with `overwrite: true`.',
      tag: 'Mappings',
      path: profileNamePath,
      body: { schema: named('MappingFixtureRequest', fixtureBody), form: false, required: true },
      responses: { 201: { description: 'Saved', schema: named('MappingFixtureSaved', fixtureSavedSchema) } },
      problems: ['NOT_FOUND', 'CONFLICT'],
    },
    'PUT /v1/mappings/profiles/:name/rules': {
      summary: 'Save rule changes to a profile',
      description:
        'Compiles the profile with the edits and runs its fixtures; on any problem answers 422 with ' +
        '`problems` and writes nothing. Comments and layout are kept. Takes effect at the next reload. ' +
        'With `If-Match`, answers 409 CONFLICT when the files changed since that hash (another save). ' +
        'Saves of one profile are taken one at a time.',
      tag: 'Mappings',
      path: profileNamePath,
      headers: profileIfMatch,
      body: { schema: named('MappingRulesRequest', rulesBody), form: false, required: true },
      responses: { 200: { description: 'Written', schema: named('MappingRulesSaved', rulesSavedSchema) } },
      problems: ['NOT_FOUND', 'CONFLICT'],
    },

    'POST /v1/crisis/activations': {
      summary: 'Declare a crisis activation',
      description:
        'Locations are checked with the EHR when it can answer (an EHR that is down does not block a ' +
        'declaration). Subscribers of the tenant hear `crisis.activated` now, also for an activation ' +
        'starting later (the event carries `startsAt`). An `Idempotency-Key` makes a retry answer 200 with ' +
        'the first activation.',
      tag: 'Crisis',
      body: { schema: named('ActivationRequest', activationBody), form: true, required: true },
      responses: {
        201: {
          description: 'Declared',
          schema: named('Activation', activationSchema),
          headers: ['Location'],
        },
        200: {
          description: 'Declared before under this Idempotency-Key',
          schema: named('Activation', activationSchema),
        },
      },
    },
    'GET /v1/crisis/activations': {
      summary: "List the tenant's activations",
      tag: 'Crisis',
      query: activationListQuery,
      responses: {
        200: { description: 'Newest first', schema: named('ActivationList', activationListSchema) },
      },
    },
    'GET /v1/crisis/activations/:id': {
      summary: 'Read one activation',
      tag: 'Crisis',
      path: activationIdPath,
      responses: { 200: { description: 'The activation', schema: named('Activation', activationSchema) } },
      problems: ['NOT_FOUND'],
    },
    'POST /v1/crisis/activations/:id/end': {
      summary: 'End an activation',
      description:
        'A scheduled one is called off. Subscribers hear `crisis.ended` once; ending one already ended ' +
        'changes nothing. An activation that reaches its `endsAt` ends without an event.',
      tag: 'Crisis',
      path: activationIdPath,
      responses: {
        200: { description: 'The activation, ended', schema: named('Activation', activationSchema) },
      },
      problems: ['NOT_FOUND'],
    },
    'GET /v1/notices': {
      summary: 'Notices in force (IVR, chatbot, desks)',
      description:
        "The tenant's active activations at a location (those naming no location apply everywhere). " +
        "Answered from Continuum's own records, so it answers the same while the EHR is down.",
      tag: 'Crisis',
      query: noticesQuery,
      responses: {
        200: { description: 'Notices, latest first', schema: named('NoticeList', noticeListSchema) },
      },
      problems: ['NOT_FOUND'],
    },

    'GET /v1/events/subscribers': {
      summary: 'List event subscribers',
      tag: 'Events',
      responses: {
        200: {
          description: 'The tenant’s subscribers',
          schema: named('SubscriberList', subscriberListSchema),
        },
      },
    },
    'POST /v1/events/subscribers/:name/replay': {
      summary: 'Re-enable a subscriber and replay its dead letters',
      tag: 'Events',
      path: subscriberPath,
      responses: {
        200: { description: 'Re-queued', schema: named('SubscriberReplay', subscriberReplaySchema) },
      },
      problems: ['NOT_FOUND'],
    },

    'GET /sandbox/fhir{/*rest}': sandboxFhir('Sandbox EHR: read or search', false),
    'POST /sandbox/fhir{/*rest}': sandboxFhir('Sandbox EHR: create', true),
    'PUT /sandbox/fhir{/*rest}': sandboxFhir('Sandbox EHR: update', true),
    'PATCH /sandbox/fhir{/*rest}': sandboxFhir('Sandbox EHR: patch', true),
    'DELETE /sandbox/fhir{/*rest}': sandboxFhir('Sandbox EHR: delete', false),
    'POST /sandbox/auth/token': {
      summary: 'Sandbox EHR: get its own access token',
      description: 'Served only while `sandbox.auth` is on: the token the sandbox FHIR API then requires.',
      tag: 'Sandbox EHR',
      body: {
        schema: named('SandboxTokenRequest', anyObject()),
        form: true,
        mediaTypes: ['application/x-www-form-urlencoded'],
      },
      responses: { 200: { description: 'A bearer token', schema: named('SandboxToken', anyObject()) } },
    },
    'GET /sandbox/admin/auth': sandboxAdmin('Sandbox EHR: its OAuth clients and tokens', false),
    'POST /sandbox/admin/auth': sandboxAdmin('Sandbox EHR: revoke clients or invalidate tokens', true),
    'GET /sandbox/admin/faults': sandboxAdmin('Sandbox EHR: the fault switch', false),
    'POST /sandbox/admin/faults': sandboxAdmin('Sandbox EHR: set a fault (down, slow, errors...)', true),
    'DELETE /sandbox/admin/faults': sandboxAdmin('Sandbox EHR: clear the fault', false),
    'GET /sandbox/admin/capacity': sandboxCapacityDoc(
      'Sandbox EHR: the capacity mode’s figures',
      'Requests in flight and waiting now; per measuring window: arrived, served, 429s, abandoned, ' +
        'pending, the most in flight and waiting, latency percentiles of served requests.',
    ),
    'POST /sandbox/admin/capacity/reset': sandboxCapacityDoc(
      'Sandbox EHR: start a new capacity window',
      'Ends the current measuring window (returned as `previous`) and starts a new one; the mode is kept.',
    ),

    'GET /metrics': {
      summary: 'Prometheus metrics',
      description:
        'The Prometheus text format: HTTP, EHR calls, queues, breaker and credentials state, cache, ' +
        'notifications, events, verifications, limits, audit records, process. Labels never carry PHI.',
      tag: 'Operations',
      responses: { 200: { description: 'Prometheus exposition format 0.0.4', mediaType: 'text/plain' } },
    },
    'GET /admin/queues{/*rest}': {
      summary: 'Queue dashboard (read-only)',
      description:
        "bull-board: the caller's tenant's write and event queues, jobs shown by their ids. A browser " +
        'is asked for Basic credentials (client id and key).',
      tag: 'Operations',
      path: queueDashboardPath,
      responses: {
        200: { description: 'The dashboard page, its files and its JSON API', mediaType: 'text/html' },
      },
      problems: ['NOT_FOUND'],
    },
    'GET /console': {
      summary: 'Operator console',
      description:
        'A page that signs in with an API key (kept in the tab, sent as a header) and shows what the ' +
        'key may see: connections, failed writes, replays, subscribers, audit search.',
      tag: 'Documentation',
      responses: { 200: { description: 'An HTML page', mediaType: 'text/html' } },
    },
    'GET /console/console.js': {
      summary: "The console's script",
      tag: 'Documentation',
      responses: { 200: { description: 'A JavaScript module', mediaType: 'text/javascript' } },
    },
    'GET /console/console-kit.js': {
      summary: 'What the console and the mapping workbench share',
      description: 'The key kept in the tab, DOM helpers that only make text of data, and the API call.',
      tag: 'Documentation',
      responses: { 200: { description: 'A JavaScript module', mediaType: 'text/javascript' } },
    },
    'GET /console/console.css': {
      summary: "The console's style",
      tag: 'Documentation',
      responses: { 200: { description: 'A style sheet', mediaType: 'text/css' } },
    },
    'GET /console/icon.svg': {
      summary: "The console's icon",
      tag: 'Documentation',
      responses: { 200: { description: 'An SVG image', mediaType: 'image/svg+xml' } },
    },
    'GET /console/mappings': {
      summary: 'Mapping workbench',
      description:
        'A page that signs in like the console (the same key in the tab) and, with mappings:write, ' +
        'shows a profile rule by rule on a record, evaluates edits as they are typed, previews a ' +
        'change, saves fixtures and rules, reloads, and opens a write a rule failed on (#op=<id>).',
      tag: 'Documentation',
      responses: { 200: { description: 'An HTML page', mediaType: 'text/html' } },
    },
    'GET /console/mappings.js': {
      summary: "The mapping workbench's script",
      tag: 'Documentation',
      responses: { 200: { description: 'A JavaScript module', mediaType: 'text/javascript' } },
    },
    'GET /console/mappings.css': {
      summary: "The mapping workbench's style",
      tag: 'Documentation',
      responses: { 200: { description: 'A style sheet', mediaType: 'text/css' } },
    },
    'GET /openapi.json': {
      summary: 'This OpenAPI document',
      tag: 'Documentation',
      responses: { 200: { description: 'OpenAPI 3.1', schema: named('OpenApiDocument', anyObject()) } },
    },
    'GET /docs': {
      summary: 'The API reference, rendered',
      tag: 'Documentation',
      responses: { 200: { description: 'An HTML page', mediaType: 'text/html' } },
    },
    'GET /docs/*file': {
      summary: 'Files of the API reference page',
      tag: 'Documentation',
      path: docsAssetPath,
      responses: { 200: { description: 'Script or style', mediaType: 'text/javascript' } },
      problems: ['NOT_FOUND'],
    },
  };
}
