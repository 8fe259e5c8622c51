/**
 * Crisis activations: declared by a crisis lead, confined to their tenant, announced to every
 * subscriber of the tenant. `crisis.activated` goes out when the activation is declared (carrying
 * `startsAt`, also when that is later), `crisis.ended` when someone ends it: nothing runs on a
 * timer, so an activation that simply reaches its `endsAt` is ended without an event of its own
 * (the first event already said when it would end).
 */
import { randomBytes } from 'node:crypto';
import type { Tenant } from '../domain/access';
import {
  activationEnd,
  activationStatus,
  type Activation,
  type ActivationKind,
  type ActivationStatus,
} from '../domain/activation';
import { ContinuumError, validationError, type FieldProblem } from '../domain/errors';
import type { CallCenterEvent, EventType } from '../domain/events';
import type { Location } from '../domain/fhir';
import { withDeadline } from '../domain/with-deadline';
import { publishEvents } from './call-center-events';
import { resolveConnection } from './resolve-connection';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export type ActivationDeps = Pick<
  UseCaseDeps,
  'activations' | 'connections' | 'defaultConnection' | 'events' | 'logger' | 'clock'
>;

export interface NewActivation {
  readonly kind: ActivationKind;
  readonly title: string;
  readonly locations: readonly string[];
  readonly connection: string | undefined;
  readonly message: string;
  readonly startsAt: string | undefined;
  readonly endsAt: string | undefined;
}

/** Who acts: the client and the tenant the activation belongs to. */
export interface CrisisActor {
  readonly clientId: string;
  readonly tenant: Tenant;
}

/** What the API shows of an activation. */
export interface ActivationView {
  readonly id: string;
  readonly kind: ActivationKind;
  readonly title: string;
  readonly locations: readonly string[];
  readonly connection: string | null;
  readonly message: string;
  readonly startsAt: string;
  readonly endsAt: string | null;
  readonly status: ActivationStatus;
  readonly createdAt: string;
  readonly createdBy: string;
  /** When it stopped applying: ended by hand, or its `endsAt` once passed; null while it applies. */
  readonly endedAt: string | null;
  /** The client that ended it by hand; null otherwise. */
  readonly endedBy: string | null;
}

export function activationView(activation: Activation, now: Date): ActivationView {
  const status = activationStatus(activation, now);
  return {
    id: activation.id,
    kind: activation.kind,
    title: activation.title,
    locations: activation.locations,
    connection: activation.connection ?? null,
    message: activation.message,
    startsAt: activation.startsAt,
    endsAt: activation.endsAt ?? null,
    status,
    createdAt: activation.createdAt,
    createdBy: activation.createdBy,
    endedAt: status === 'ended' ? (activationEnd(activation) ?? null) : null,
    endedBy: activation.endedBy ?? null,
  };
}

function newActivationId(now: Date): string {
  return `act_${now.getTime().toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}

/** How long the EHR is given to say whether a location exists: a crisis lead must not wait on it. */
const LOCATION_CHECK_MS = 2500;

/**
 * Locations the EHR says it does not have. An EHR that is down, slow or refuses the read cannot
 * say, and the activation is taken as declared: in a crisis the EHR may well be part of it.
 */
async function unknownLocations(
  deps: Pick<UseCaseDeps, 'logger'>,
  connection: ConnectionContext,
  locations: readonly string[],
): Promise<string[]> {
  if (locations.length === 0 || !(await connection.ehrAvailable())) return [];
  const verdicts = await Promise.all(
    locations.map(async (id) => {
      try {
        await withDeadline(
          connection.ehr.read<Location>('Location', id, { deadlineMs: LOCATION_CHECK_MS }),
          LOCATION_CHECK_MS + 250,
          'the EHR',
        );
        return undefined;
      } catch (error) {
        if (error instanceof ContinuumError && error.code === 'NOT_FOUND') return id;
        deps.logger.info(
          { connection: connection.name, ref: `Location/${id}` },
          'location not checked: the EHR did not answer',
        );
        return undefined;
      }
    }),
  );
  return verdicts.filter((id): id is string => id !== undefined);
}

async function checkNewActivation(
  deps: ActivationDeps,
  actor: CrisisActor,
  input: NewActivation,
  now: Date,
): Promise<{ readonly startsAt: string }> {
  const problems: FieldProblem[] = [];
  const startsAt = input.startsAt ?? now.toISOString();
  if (input.endsAt !== undefined && Date.parse(input.endsAt) <= now.getTime()) {
    problems.push({ field: 'endsAt', message: 'must be in the future' });
  }
  if (input.endsAt !== undefined && Date.parse(input.endsAt) <= Date.parse(startsAt)) {
    problems.push({ field: 'endsAt', message: 'must be after startsAt' });
  }
  let connection: ConnectionContext | undefined;
  try {
    connection = resolveConnection(deps, input.connection, actor.tenant);
  } catch {
    problems.push({ field: 'connection', message: 'is not an EHR connection this tenant may use' });
  }
  const own = actor.tenant.locations;
  input.locations.forEach((id, i) => {
    if (own !== undefined && !own.includes(id)) {
      problems.push({ field: `locations[${i}]`, message: 'is not one of this tenant’s locations' });
    }
  });
  if (problems.length === 0 && connection !== undefined) {
    const unknown = new Set(await unknownLocations(deps, connection, input.locations));
    input.locations.forEach((id, i) => {
      if (unknown.has(id))
        problems.push({ field: `locations[${i}]`, message: 'the EHR has no such Location' });
    });
  }
  if (problems.length > 0) throw validationError(problems);
  return { startsAt };
}

function crisisEvent(type: EventType, activation: Activation, at: string): CallCenterEvent {
  return {
    id: `${activation.id}.${type}`,
    type,
    timestamp: at,
    tenant: activation.tenant,
    data: {
      activationId: activation.id,
      kind: activation.kind,
      title: activation.title,
      locations: activation.locations.join(','),
      connection: activation.connection ?? null,
      startsAt: activation.startsAt,
      endsAt: activation.endsAt ?? null,
      ...(type === 'crisis.ended' ? { endedAt: activation.endedAt ?? at } : {}),
    },
  };
}

const sameInstant = (a: string | undefined, b: string | undefined): boolean =>
  a === undefined || b === undefined ? a === b : Date.parse(a) === Date.parse(b);

/**
 * Whether a retried declaration is the one first stored under its key. A start left out means
 * "now", which a retry cannot repeat: only a start given both times is compared.
 */
function declaresTheSame(earlier: Activation, input: NewActivation): boolean {
  const sorted = (values: readonly string[]): string => [...new Set(values)].sort().join(',');
  return (
    earlier.kind === input.kind &&
    earlier.title === input.title &&
    earlier.message === input.message &&
    earlier.connection === input.connection &&
    sorted(earlier.locations) === sorted(input.locations) &&
    sameInstant(earlier.endsAt, input.endsAt) &&
    (input.startsAt === undefined || sameInstant(earlier.startsAt, input.startsAt))
  );
}

export async function createActivation(
  deps: ActivationDeps,
  actor: CrisisActor,
  input: NewActivation,
  idempotencyKey: string | undefined,
): Promise<{ readonly activation: ActivationView; readonly created: boolean }> {
  const now = deps.clock.now();
  const { startsAt } = await checkNewActivation(deps, actor, input, now);
  const activation: Activation = {
    id: newActivationId(now),
    tenant: actor.tenant.name,
    kind: input.kind,
    title: input.title,
    locations: [...new Set(input.locations)],
    connection: input.connection,
    message: input.message,
    startsAt,
    endsAt: input.endsAt,
    createdAt: now.toISOString(),
    createdBy: actor.clientId,
    endedAt: undefined,
    endedBy: undefined,
  };
  const stored = await deps.activations.create(
    activation,
    idempotencyKey === undefined ? undefined : `${actor.clientId}:${idempotencyKey}`,
  );
  if (!stored.created) {
    const earlier = await deps.activations.get(actor.tenant.name, stored.id);
    if (earlier === undefined)
      throw new ContinuumError('NOT_FOUND', { detail: 'no activation with this id' });
    if (!declaresTheSame(earlier, input)) {
      throw new ContinuumError('IDEMPOTENCY_MISMATCH', {
        detail: `Idempotency-Key was first used for activation ${earlier.id} with another declaration`,
      });
    }
    return { activation: activationView(earlier, now), created: false };
  }
  deps.logger.info(
    { activationId: activation.id, kind: activation.kind, tenant: activation.tenant },
    'crisis activation declared',
  );
  await publishEvents(deps, [crisisEvent('crisis.activated', activation, activation.createdAt)]);
  return { activation: activationView(activation, now), created: true };
}

export async function listActivations(
  deps: Pick<UseCaseDeps, 'activations' | 'clock'>,
  tenant: Tenant,
  status: ActivationStatus | undefined,
): Promise<ActivationView[]> {
  const now = deps.clock.now();
  return (await deps.activations.list(tenant.name))
    .map((a) => activationView(a, now))
    .filter((a) => status === undefined || a.status === status)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

function notFound(): ContinuumError {
  return new ContinuumError('NOT_FOUND', { detail: 'no activation with this id' });
}

export async function getActivation(
  deps: Pick<UseCaseDeps, 'activations' | 'clock'>,
  tenant: Tenant,
  id: string,
): Promise<ActivationView> {
  const activation = await deps.activations.get(tenant.name, id);
  if (activation === undefined) throw notFound();
  return activationView(activation, deps.clock.now());
}

/**
 * Ends an activation (a scheduled one is called off). Ending one already ended changes nothing
 * and tells nobody again.
 */
export async function endActivation(
  deps: ActivationDeps,
  actor: CrisisActor,
  id: string,
): Promise<ActivationView> {
  const now = deps.clock.now();
  const current = await deps.activations.get(actor.tenant.name, id);
  if (current === undefined) throw notFound();
  if (activationStatus(current, now) === 'ended') return activationView(current, now);
  const ended = await deps.activations.end(actor.tenant.name, id, now.toISOString(), actor.clientId);
  if (ended === undefined) throw notFound();
  if (ended.changed) {
    deps.logger.info({ activationId: id, tenant: actor.tenant.name }, 'crisis activation ended');
    await publishEvents(deps, [crisisEvent('crisis.ended', ended.activation, now.toISOString())]);
  }
  return activationView(ended.activation, now);
}
