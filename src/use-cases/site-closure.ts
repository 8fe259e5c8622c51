/**
 * A site closure submitted by a crisis lead: a dry run says what it would change and changes
 * nothing; a real run is stored under an id derived from what makes it the same closure
 * (connection, locations, window, action, tenant), so submitting it again finds the first, and
 * its run is handed to a durable job that finds the visits and queues every change.
 */
import { createHash } from 'node:crypto';
import type { Tenant } from '../domain/access';
import type {
  ClosureRecord,
  ClosureRequest,
  ClosureRuns,
  ClosureStore,
  ClosureTarget,
} from '../domain/closure';
import { acceptedCancellationReason } from '../domain/cancellation-reason';
import { ContinuumError } from '../domain/errors';
import { localTime } from '../domain/local-time';
import type { OperationOwner } from '../domain/operation';
import { requestHash } from './request-hash';
import { findClosureTargets } from './closure-targets';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export interface ClosureDeps extends UseCaseDeps {
  readonly closures: ClosureStore;
  readonly closureRuns: ClosureRuns;
}

export interface DryRun {
  readonly dryRun: true;
  readonly appointments: number;
  readonly patients: number;
  /** Days are each visit's local date as the EHR wrote its start (with the clinic's offset). */
  readonly timeZone: 'as-written';
  readonly byDay: readonly { readonly date: string; readonly count: number }[];
  readonly byLocation: readonly {
    readonly location: string;
    readonly name: string | null;
    readonly count: number;
  }[];
  readonly byPractitioner: readonly { readonly practitioner: string; readonly count: number }[];
  readonly patientRefs: readonly string[];
  readonly appointmentRefs: readonly string[];
}

/** Closures are confined like bookings: a tenant confined to locations closes only those. */
export function refuseForeignLocations(tenant: Tenant, locations: readonly string[]): void {
  if (tenant.locations === undefined) return;
  const foreign = locations.filter((id) => !tenant.locations?.includes(id));
  if (foreign.length > 0) {
    throw new ContinuumError('FORBIDDEN', {
      detail: `this client may close only its own locations; not: ${foreign.join(', ')}`,
    });
  }
}

function counted<K extends string>(
  keys: readonly string[],
  name: K,
): ({ [P in K]: string } & { count: number })[] {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, count]) => ({ [name]: key, count }) as { [P in K]: string } & { count: number });
}

export function summarise(
  targets: readonly ClosureTarget[],
  names: Readonly<Record<string, string>>,
): DryRun {
  const patients = [...new Set(targets.map((t) => t.patientId))].sort();
  return {
    dryRun: true,
    appointments: targets.length,
    patients: patients.length,
    timeZone: 'as-written',
    byDay: counted(
      targets.map((t) => localTime(t.start).date),
      'date',
    ),
    byLocation: counted(
      targets.map((t) => t.location.id),
      'location',
    ).map((entry) => ({ location: entry.location, name: names[entry.location] ?? null, count: entry.count })),
    byPractitioner: counted(
      targets.map((t) => (t.practitioner === undefined ? 'none' : `Practitioner/${t.practitioner.id}`)),
      'practitioner',
    ),
    patientRefs: patients.map((id) => `Patient/${id}`),
    appointmentRefs: targets.map((t) => `Appointment/${t.appointmentId}`),
  };
}

/**
 * A closure's coded reason becomes the cancellation reason of every visit it changes, so it must be
 * one the connection's profile codes, as for a single change (422 listing them, dry run or not),
 * recorded in the table's spelling. Its free-text `reason` is what patients are told: never refused.
 */
export function withAcceptedReason(connection: ConnectionContext, request: ClosureRequest): ClosureRequest {
  const cancellationReason = acceptedCancellationReason(
    connection.mapping,
    request.cancellationReason,
    'cancellationReason',
  );
  return { ...request, cancellationReason };
}

/**
 * The closure an Idempotency-Key already started, when this submission is that closure: found
 * before the reason is checked, so a closure submitted before reasons were checked, sent again with
 * its key, gets its first answer rather than a refusal.
 */
export async function closureSubmittedBefore(
  deps: Pick<ClosureDeps, 'closures'>,
  tenant: Tenant,
  owner: OperationOwner,
  request: ClosureRequest,
  idempotencyKey: string | undefined,
): Promise<ClosureRecord | undefined> {
  if (idempotencyKey === undefined) return undefined;
  const earlier = await deps.closures.keyedClosure(`${owner.clientId}:${idempotencyKey}`);
  if (earlier === undefined || earlier !== closureId(tenant.name, request)) return undefined;
  return deps.closures.get(earlier);
}

export async function dryRunClosure(
  connection: ConnectionContext,
  tenant: Tenant,
  request: ClosureRequest,
): Promise<DryRun> {
  refuseForeignLocations(tenant, request.locations);
  if (!(await connection.ehrAvailable())) {
    throw (
      connection.ehrOutage?.() ??
      new ContinuumError('EHR_UNAVAILABLE', {
        detail: `EHR ${connection.name} is unavailable: a dry run needs it to find the visits`,
        retryAfterSeconds: 5,
      })
    );
  }
  const found = await findClosureTargets(connection, request);
  return summarise(found.targets, found.locationNames);
}

/** The same closure, submitted twice, gets the same id: tenant, connection, locations, window, action. */
export function closureId(tenant: string, request: ClosureRequest): string {
  const identity = [
    tenant,
    request.connection,
    [...new Set(request.locations)].sort().join(','),
    new Date(request.from).toISOString(),
    new Date(request.to).toISOString(),
    request.action,
  ].join('\n');
  return `clo_${createHash('sha256').update(identity).digest('hex').slice(0, 24)}`;
}

export interface SubmittedClosure {
  readonly record: ClosureRecord;
  /** False when the same closure was submitted before: nothing new was started. */
  readonly created: boolean;
}

export async function submitClosure(
  deps: Pick<ClosureDeps, 'closures' | 'closureRuns' | 'clock' | 'logger'>,
  tenant: Tenant,
  owner: OperationOwner,
  request: ClosureRequest,
  idempotencyKey: string | undefined,
): Promise<SubmittedClosure> {
  refuseForeignLocations(tenant, request.locations);
  const id = closureId(tenant.name, request);
  if (idempotencyKey !== undefined) {
    const claimed = await deps.closures.claimKey(`${owner.clientId}:${idempotencyKey}`, id);
    if (claimed !== id) {
      throw new ContinuumError('IDEMPOTENCY_MISMATCH', {
        detail: `Idempotency-Key was first used for closure ${claimed}, another closure`,
      });
    }
  }
  const now = deps.clock.now().toISOString();
  const { record, created } = await deps.closures.create({
    ...request,
    locations: [...new Set(request.locations)].sort(),
    from: new Date(request.from).toISOString(),
    to: new Date(request.to).toISOString(),
    id,
    owner,
    tenantLocations: tenant.locations,
    requestHash: requestHash(request),
    phase: 'finding',
    targets: [],
    callbacks: [],
    locationNames: {},
    lastError: undefined,
    findAttempts: 0,
    createdAt: now,
    updatedAt: now,
    queuingStartedAt: undefined,
  });
  // Started on every submission: a job lost between storing and queuing is queued by the retry,
  // and a job already queued under this id is not queued twice.
  await deps.closureRuns.start(id);
  deps.logger.info(
    { closureId: id, action: request.action, locations: record.locations.length, created },
    created ? 'site closure accepted' : 'site closure submitted again: the first one stands',
  );
  return { record, created };
}
