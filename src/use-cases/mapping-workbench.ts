/**
 * The mapping workbench for an integration engineer: profiles of the caller's tenant only, records
 * read live from the tenant's connections (with the read deadline), nothing ever written to an EHR.
 * Every call is recorded in the audit trail by the HTTP edge, with the record it concerned.
 */
import type { Tenant } from '../domain/access';
import { ContinuumError } from '../domain/errors';
import type { Resource, Schedule, Slot } from '../domain/fhir';
import type { EmptyFieldFinding, MappingCatalog } from '../domain/mapping-catalog';
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
import { reloadOutcomeFor, type TenantReloadOutcome } from './tenant-reload-view';
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
    /** A folder no connection runs yet: compiled from its files, records read from the tenant's connections. */
    readonly draft: boolean;
    /** The running version's hash; absent for a draft. */
    readonly hash?: string;
    readonly since: string | null;
    /** The hash of the files on disk: differs from `hash` while a saved change waits for a reload. */
    readonly filesHash: string;
    readonly connections: readonly string[];
    readonly files: readonly string[];
    readonly fixtures: Readonly<Record<string, number>>;
  }[];
  readonly lastReload: TenantReloadOutcome | null;
  readonly emptyFields: readonly EmptyFieldFinding[];
}

/** The tenant's connections that use `profile`, in configuration order. */
function connectionsUsing(deps: MappingWorkbenchDeps, tenant: Tenant, profile: string): ConnectionContext[] {
  return tenant.connections
    .map((name) => deps.connections.get(name))
    .filter((connection) => connection !== undefined && connection.mapping.name === profile)
    .map((connection) => connection as ConnectionContext);
}

/** The profile names any connection of this gateway runs, every tenant's. */
function namesInUse(deps: MappingWorkbenchDeps): Set<string> {
  return new Set([...deps.connections.values()].map((connection) => connection.mapping.name));
}

/**
 * Profile folders no connection of any tenant runs: an engineer's drafts. They belong to no tenant,
 * and fixtures saved in them come from live records, so only a tenant that holds every connection of
 * the gateway (the operator's) reaches them; another tenant gets an empty list.
 */
async function draftNames(deps: MappingWorkbenchDeps, tenant: Tenant): Promise<string[]> {
  const everyConnection = [...deps.connections.keys()].every((name) => tenant.connections.includes(name));
  if (!everyConnection) return [];
  const used = namesInUse(deps);
  return (await deps.workbench.folders()).filter((name) => !used.has(name));
}

interface WorkingSet {
  readonly connection: ConnectionContext;
  /** The version the tenant's connections run; absent for a draft (compiled from its files). */
  readonly running?: MappingProfile;
}

/**
 * A profile the tenant uses, or a draft, and the connection to read records from: the one named
 * (of the tenant, whatever profile it runs), else the first using the profile (for a draft, the
 * tenant's first). A profile only other tenants' connections run is "not found", like no profile.
 */
async function workingSet(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  profile: string,
  connectionName?: string,
): Promise<WorkingSet> {
  const first = connectionsUsing(deps, tenant, profile)[0];
  let fallback: ConnectionContext | undefined = first;
  if (first === undefined) {
    const tenantFirst = tenant.connections[0];
    const draft = (await draftNames(deps, tenant)).includes(profile);
    if (!draft || tenantFirst === undefined) {
      throw new ContinuumError('NOT_FOUND', { detail: `no mapping profile named "${profile}"` });
    }
    fallback = deps.connections.get(tenantFirst);
  }
  const named = connectionName === undefined ? fallback : deps.connections.get(connectionName);
  if (named === undefined || !tenant.connections.includes(named.name)) {
    throw new ContinuumError('NOT_FOUND', {
      detail: `no EHR connection named "${connectionName ?? ''}"`,
      extra: { errors: [{ field: 'connection', message: 'unknown EHR connection' }] },
    });
  }
  return first === undefined ? { connection: named } : { connection: named, running: first.mapping };
}

/** The connection a workbench request reads from (and whose phone region its numbers are read in). */
export async function workbenchConnection(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  profile: string,
  connection?: string,
): Promise<ConnectionContext> {
  return (await workingSet(deps, tenant, profile, connection)).connection;
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
  const inUse = await Promise.all(
    names.map(async (name) => {
      const using = connectionsUsing(deps, tenant, name);
      const summary = await deps.workbench.summary(name);
      const version = running.find((entry) => entry.name === name);
      return {
        name,
        draft: false,
        hash: version?.hash ?? using[0]?.mapping.hash ?? summary.hash,
        since: version?.since ?? null,
        filesHash: summary.hash,
        connections: using.map((connection) => connection.name),
        files: summary.files,
        fixtures: summary.fixtures,
      };
    }),
  );
  // Drafts have no running version; a tenant without connections has no records to try them on.
  const drafts = await Promise.all(
    (tenant.connections.length === 0 ? [] : await draftNames(deps, tenant)).map(async (name) => {
      const summary = await deps.workbench.summary(name);
      return {
        name,
        draft: true,
        since: null,
        filesHash: summary.hash,
        connections: [],
        files: summary.files,
        fixtures: summary.fixtures,
      };
    }),
  );
  const mine = new Set(tenant.connections);
  const lastReload = deps.mappingCatalog?.lastReload();
  return {
    profiles: [...inUse, ...drafts],
    lastReload: lastReload === undefined ? null : reloadOutcomeFor(lastReload, new Set(names)),
    emptyFields: (deps.mappingCatalog?.emptyFields() ?? []).filter((finding) => mine.has(finding.connection)),
  };
}

export async function profileDetail(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  name: string,
): Promise<ProfileDetail> {
  await workingSet(deps, tenant, name);
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

function choiceOf(request: WorkbenchRequest, running: MappingProfile | undefined): ProfileChoice {
  return running === undefined
    ? { name: request.profile, edits: request.edits }
    : { name: request.profile, running, edits: request.edits };
}

export async function explainRecord(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  request: WorkbenchRequest,
): Promise<ExplainOutcome> {
  const { connection, running } = await workingSet(deps, tenant, request.profile, request.connection);
  const { resource, schedule } = await recordOf(connection, request.resourceType, request.record);
  return deps.workbench.explain(choiceOf(request, running), request.resourceType, resource, schedule);
}

export async function tryRecordChange(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  request: WorkbenchRequest & { readonly change: TryChange },
): Promise<TryOutcome> {
  const { connection, running } = await workingSet(deps, tenant, request.profile, request.connection);
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
  const { connection, running } = await workingSet(deps, tenant, request.profile, request.connection);
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
  const { running } = await workingSet(deps, tenant, profile);
  return deps.workbench.saveFixture(
    running === undefined ? { name: profile, edits } : { name: profile, running, edits },
    draft,
  );
}

export async function saveRules(
  deps: MappingWorkbenchDeps,
  tenant: Tenant,
  profile: string,
  edits: readonly RuleEdit[],
  expectedHash?: string,
): Promise<{ readonly written: readonly string[]; readonly hash: string }> {
  await workingSet(deps, tenant, profile);
  return deps.workbench.saveRules(profile, edits, expectedHash);
}
