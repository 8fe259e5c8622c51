/**
 * The mapping workbench for an integration engineer: profiles of the caller's tenant only, records
 * read live from the tenant's connections (with the read deadline), nothing ever written to an EHR.
 * Every call is recorded in the audit trail by the HTTP edge, with the record it concerned.
 */
import type { Tenant } from '../domain/access';
import { ContinuumError } from '../domain/errors';
import type { Resource, Schedule, Slot } from '../domain/fhir';
import type { EmptyFieldFinding, MappingCatalog, ProfileReloadOutcome } from '../domain/mapping-catalog';
import type { MappingProfile } from '../domain/mapping-profile';
import type {
  EvaluateOutcome,
  ExplainOutcome,
  FixtureDraft,
  MappingWorkbench,
  ProfileChoice,
  ProfileDetail,
  RuleEdit,
  RuleLanguage,
  TryChange,
  TryOutcome,
  WorkbenchResourceType,
} from '../domain/mapping-workbench';
import { previewChange } from './try-change';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export interface MappingWorkbenchDeps extends Pick<UseCaseDeps, 'connections'> {
  readonly workbench: MappingWorkbench;
  /** Running versions, reloads and empty-field findings; absent: taken from the connections. */
  readonly mappingCatalog?: MappingCatalog;
}

/** Which record: read live by id from a connection's EHR, or given whole. */
export type RecordSource = { readonly id: string } | { readonly resource: Resource };

export interface WorkbenchRequest {
  readonly profile: string;
  readonly connection?: string;
  readonly resourceType: WorkbenchResourceType;
  readonly record: RecordSource;
  readonly edits: readonly RuleEdit[];
}

export interface ProfileListing {
  readonly profiles: readonly {
    readonly name: string;
    /** The running version's hash. */
    readonly hash: string;
    readonly since: string | null;
    /** The hash of the files on disk: differs from `hash` while a saved change waits for a reload. */
    readonly filesHash: string;
    readonly connections: readonly string[];
    readonly files: readonly string[];
    readonly fixtures: Readonly<Record<string, number>>;
  }[];
  readonly lastReload: ProfileReloadOutcome | null;
  readonly emptyFields: readonly EmptyFieldFinding[];
}

/** The tenant's connections that use `profile`, in configuration order. */
function connectionsUsing(deps: MappingWorkbenchDeps, tenant: Tenant, profile: string): ConnectionContext[] {
  return tenant.connections
    .map((name) => deps.connections.get(name))
    .filter((connection) => connection !== undefined && connection.mapping.name === profile)
    .map((connection) => connection as ConnectionContext);
}

/**
 * A profile the tenant uses, and the connection to read records from: the one named (of the
 * tenant, whatever profile it runs) or the first using the profile. Others' are "not found".
 */
function workingSet(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  profile: string,
  connectionName?: string,
): { connection: ConnectionContext; running: MappingProfile } {
  const using = connectionsUsing(deps, tenant, profile);
  const first = using[0];
  if (first === undefined) {
    throw new ContinuumError('NOT_FOUND', { detail: `no mapping profile named "${profile}"` });
  }
  const named = connectionName === undefined ? first : deps.connections.get(connectionName);
  if (named === undefined || !tenant.connections.includes(named.name)) {
    throw new ContinuumError('NOT_FOUND', {
      detail: `no EHR connection named "${connectionName ?? ''}"`,
      extra: { errors: [{ field: 'connection', message: 'unknown EHR connection' }] },
    });
  }
  return { connection: named, running: first.mapping };
}

/** The connection a workbench request reads from (and whose phone region its numbers are read in). */
export function workbenchConnection(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  profile: string,
  connection?: string,
): ConnectionContext {
  return workingSet(deps, tenant, profile, connection).connection;
}

export async function listProfiles(deps: MappingWorkbenchDeps, tenant: Tenant): Promise<ProfileListing> {
  const names = [
    ...new Set(
      tenant.connections.flatMap((name) => {
        const connection = deps.connections.get(name);
        return connection === undefined ? [] : [connection.mapping.name];
      }),
    ),
  ];
  const running = deps.mappingCatalog?.running() ?? [];
  const profiles = await Promise.all(
    names.map(async (name) => {
      const using = connectionsUsing(deps, tenant, name);
      const summary = await deps.workbench.summary(name);
      const version = running.find((entry) => entry.name === name);
      return {
        name,
        hash: version?.hash ?? using[0]?.mapping.hash ?? summary.hash,
        since: version?.since ?? null,
        filesHash: summary.hash,
        connections: using.map((connection) => connection.name),
        files: summary.files,
        fixtures: summary.fixtures,
      };
    }),
  );
  const mine = new Set(tenant.connections);
  return {
    profiles,
    lastReload: deps.mappingCatalog?.lastReload() ?? null,
    emptyFields: (deps.mappingCatalog?.emptyFields() ?? []).filter((finding) => mine.has(finding.connection)),
  };
}

export async function profileDetail(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  name: string,
): Promise<ProfileDetail> {
  workingSet(deps, tenant, name);
  return deps.workbench.detail(name);
}

/** The record a request names: read live (a Slot with its Schedule), or the one it gave, checked. */
async function recordOf(
  connection: ConnectionContext,
  resourceType: WorkbenchResourceType,
  record: RecordSource,
): Promise<{ resource: Resource; schedule?: Schedule }> {
  if ('resource' in record) {
    if (record.resource.resourceType !== resourceType) {
      throw new ContinuumError('VALIDATION', {
        detail: `resource: must be a ${resourceType}`,
        extra: { errors: [{ field: 'resource', message: `must be a ${resourceType}` }] },
      });
    }
    return { resource: record.resource };
  }
  const deadlineMs = connection.readDeadline(
    resourceType === 'Patient' ? 'patient' : resourceType === 'Slot' ? 'slots' : 'appointments',
  );
  const resource = await connection.ehr.read<Resource>(resourceType, record.id, { deadlineMs });
  if (resourceType !== 'Slot') return { resource };
  const scheduleId = (resource as Slot).schedule.reference?.split('/').pop();
  if (scheduleId === undefined || scheduleId === '') return { resource };
  const schedule = await connection.ehr.read<Schedule>('Schedule', scheduleId, { deadlineMs });
  return { resource, schedule };
}

function choiceOf(request: WorkbenchRequest, running: MappingProfile): ProfileChoice {
  return { name: request.profile, running, edits: request.edits };
}

export async function explainRecord(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  request: WorkbenchRequest,
): Promise<ExplainOutcome> {
  const { connection, running } = workingSet(deps, tenant, request.profile, request.connection);
  const { resource, schedule } = await recordOf(connection, request.resourceType, request.record);
  return deps.workbench.explain(choiceOf(request, running), request.resourceType, resource, schedule);
}

export async function tryRecordChange(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  request: WorkbenchRequest & { readonly change: TryChange },
): Promise<TryOutcome> {
  const { connection, running } = workingSet(deps, tenant, request.profile, request.connection);
  const { resource } = await recordOf(connection, request.resourceType, request.record);
  const resolved = await deps.workbench.resolve(choiceOf(request, running));
  const preview = await previewChange(resolved.profile, resource, request.change);
  const version = resource.meta?.versionId;
  const changed = preview.after !== undefined && preview.diff.length > 0;
  return {
    profile: resolved.used,
    before: resource,
    after: preview.after,
    diff: preview.diff,
    // What the worker would send: PUT of the whole record, or PATCH where this EHR takes patches.
    request: changed
      ? {
          method: connection.capabilities.update === 'patch' ? 'PATCH' : 'PUT',
          url: `${resource.resourceType}/${resource.id ?? ''}`,
          headers: version === undefined ? {} : { 'If-Match': `W/"${version}"` },
        }
      : undefined,
    problems: [...resolved.problems, ...preview.problems],
  };
}

export async function evaluateOnRecord(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  request: WorkbenchRequest & {
    readonly language: RuleLanguage;
    readonly source: string;
    readonly base?: string;
    readonly value?: unknown;
  },
): Promise<EvaluateOutcome> {
  const { connection, running } = workingSet(deps, tenant, request.profile, request.connection);
  const { resource } = await recordOf(connection, request.resourceType, request.record);
  const { language, source, base, value } = request;
  return deps.workbench.evaluate(
    choiceOf(request, running),
    { language, source, ...(base !== undefined ? { base } : {}), ...(value !== undefined ? { value } : {}) },
    resource,
  );
}

export async function saveFixture(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  profile: string,
  draft: FixtureDraft,
  edits: readonly RuleEdit[],
): Promise<{ readonly path: string }> {
  const { running } = workingSet(deps, tenant, profile);
  return deps.workbench.saveFixture({ name: profile, running, edits }, draft);
}

export async function saveRules(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  profile: string,
  edits: readonly RuleEdit[],
  expectedHash?: string,
): Promise<{ readonly written: readonly string[]; readonly hash: string }> {
  workingSet(deps, tenant, profile);
  return deps.workbench.saveRules(profile, edits, expectedHash);
}
