/**
 * /v1/mappings: the mapping workbench API (scope mappings:write). Explain and try read a record
 * (live by id, or given) and answer with rule-by-rule results; nothing reaches an EHR. Problems of
 * unsaved edits come back as data (200) so a page can show them as the engineer types; saving rules
 * refuses with 422 and the problems.
 */
import { Router, type Response } from 'express';
import { validationError } from '../../domain/errors';
import type { Resource } from '../../domain/fhir';
import type { TryChange } from '../../domain/mapping-workbench';
import {
  evaluateOnRecord,
  explainRecord,
  listProfiles,
  profileDetail,
  saveFixture,
  saveRules,
  tryRecordChange,
  workbenchConnection,
  type MappingWorkbenchDeps,
  type RecordSource,
} from '../../use-cases/mapping-workbench';
import { route } from '../async-route';
import { noteAuditResources } from '../audit-trail';
import { callerOf } from '../caller';
import { byRegion } from '../schemas/by-region';
import {
  appointmentChangeSchema,
  evaluateBody,
  explainBody,
  fixtureBody,
  profileNamePath,
  rulesBody,
  tryBody,
} from '../schemas/mappings.schema';
import { patientChangesSchema } from '../schemas/patient-changes.schema';
import { zodToValidationError } from '../validation';

const NOT_A_FIELD = 'is not a field of this workbench request';

function recordSource(body: { id?: string | undefined; resource?: object | undefined }): RecordSource {
  return body.id !== undefined ? { id: body.id } : { resource: body.resource as Resource };
}

/** The record a request concerns goes into its audit record. */
function noteRecord(
  res: Response,
  resourceType: string,
  resource: Readonly<Record<string, unknown>> | undefined,
  id?: string,
) {
  const recordId = id ?? (typeof resource?.id === 'string' ? resource.id : undefined);
  if (recordId !== undefined) noteAuditResources(res, [`${resourceType}/${recordId}`]);
}

function profileOf(params: unknown): string {
  const parsed = profileNamePath.safeParse(params);
  if (!parsed.success) throw zodToValidationError(parsed.error, NOT_A_FIELD);
  return parsed.data.name;
}

export function mappingsRoutes(deps: MappingWorkbenchDeps): Router {
  const router = Router();
  const changesSchema = byRegion(patientChangesSchema);

  router.get(
    '/profiles',
    route(async (_req, res) => {
      res.json(await listProfiles(deps, callerOf(res).tenant));
    }),
  );

  router.get(
    '/profiles/:name',
    route(async (req, res) => {
      res.json(await profileDetail(deps, callerOf(res).tenant, profileOf(req.params)));
    }),
  );

  router.post(
    '/explain',
    route(async (req, res) => {
      const parsed = explainBody.safeParse(req.body);
      if (!parsed.success) throw zodToValidationError(parsed.error, NOT_A_FIELD);
      const body = parsed.data;
      noteRecord(res, body.resourceType, body.resource, body.id);
      const outcome = await explainRecord(deps, callerOf(res).tenant, {
        profile: body.profile,
        ...(body.connection !== undefined ? { connection: body.connection } : {}),
        resourceType: body.resourceType,
        record: recordSource(body),
        edits: body.edits,
      });
      res.json(outcome);
    }),
  );

  router.post(
    '/try',
    route(async (req, res) => {
      const parsed = tryBody.safeParse(req.body);
      if (!parsed.success) throw zodToValidationError(parsed.error, NOT_A_FIELD);
      const body = parsed.data;
      const { tenant } = callerOf(res);
      noteRecord(res, body.resourceType, body.resource, body.id);
      let change: TryChange;
      if (body.resourceType === 'Patient') {
        // Numbers without a country code are read as the connection's API reads them.
        const connection = await workbenchConnection(deps, tenant, body.profile, body.connection);
        const changes = changesSchema(connection.phoneRegion).safeParse(body.change);
        if (!changes.success) {
          throw zodToValidationError(prefixed(changes.error), 'is not a field that can be changed here');
        }
        change = { resourceType: 'Patient', changes: changes.data };
      } else {
        const action = appointmentChangeSchema.safeParse(body.change);
        if (!action.success) throw zodToValidationError(prefixed(action.error), NOT_A_FIELD);
        change = { resourceType: 'Appointment', ...definedOnly(action.data) };
      }
      const outcome = await tryRecordChange(deps, tenant, {
        profile: body.profile,
        ...(body.connection !== undefined ? { connection: body.connection } : {}),
        resourceType: body.resourceType,
        record: recordSource(body),
        edits: body.edits,
        change,
      });
      res.json(outcome);
    }),
  );

  router.post(
    '/evaluate',
    route(async (req, res) => {
      const parsed = evaluateBody.safeParse(req.body);
      if (!parsed.success) throw zodToValidationError(parsed.error, NOT_A_FIELD);
      const body = parsed.data;
      noteRecord(res, body.resourceType, body.resource, body.id);
      const outcome = await evaluateOnRecord(deps, callerOf(res).tenant, {
        profile: body.profile,
        ...(body.connection !== undefined ? { connection: body.connection } : {}),
        resourceType: body.resourceType,
        record: recordSource(body),
        edits: body.edits,
        language: body.language,
        source: body.source,
        ...(body.base !== undefined ? { base: body.base } : {}),
        ...(body.value !== undefined ? { value: body.value } : {}),
      });
      res.json(outcome);
    }),
  );

  router.post(
    '/profiles/:name/fixtures',
    route(async (req, res) => {
      const name = profileOf(req.params);
      const parsed = fixtureBody.safeParse(req.body);
      if (!parsed.success) throw zodToValidationError(parsed.error, NOT_A_FIELD);
      const { kind, name: fixture, description, expected, overwrite, edits, ...members } = parsed.data;
      const input = members.input as { resourceType?: unknown; id?: unknown } | undefined;
      if (typeof input?.resourceType === 'string') noteRecord(res, input.resourceType, input);
      const saved = await saveFixture(
        deps,
        callerOf(res).tenant,
        name,
        {
          kind,
          name: fixture,
          ...(description !== undefined ? { description } : {}),
          members,
          ...(expected !== undefined ? { expected } : {}),
          overwrite,
        },
        edits,
      );
      res.status(201).json(saved);
    }),
  );

  router.put(
    '/profiles/:name/rules',
    route(async (req, res) => {
      const name = profileOf(req.params);
      const parsed = rulesBody.safeParse(req.body);
      if (!parsed.success) throw zodToValidationError(parsed.error, NOT_A_FIELD);
      const expectedHash = filesHashOf(req.get('if-match'));
      res.json(await saveRules(deps, callerOf(res).tenant, name, parsed.data.edits, expectedHash));
    }),
  );

  return router;
}

/**
 * `If-Match: "<files hash>"` (the `hash` GET /v1/mappings/profiles/:name gave): the save is refused
 * when the files changed since. Without the header the save goes ahead, as API users always could.
 */
function filesHashOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"?([0-9a-f]{64})"?\s*$/.exec(header);
  if (match?.[1] === undefined) {
    throw validationError([
      {
        field: 'If-Match',
        message: 'must be the profile files hash, as GET /v1/mappings/profiles/:name gives it',
      },
    ]);
  }
  return match[1];
}

/** Issues of the `change` member, named from the body's root. */
function prefixed<E extends { issues: { path: PropertyKey[] }[] }>(error: E): E {
  for (const issue of error.issues) issue.path = ['change', ...issue.path];
  return error;
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
