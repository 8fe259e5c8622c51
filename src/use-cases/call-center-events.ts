/**
 * The call-center events a finished write, an EHR notification or a breaker change stands for.
 * Event ids are derived from what they are about, so publishing the same event twice (a job run
 * again after a crash) queues it once.
 */
import type { CredentialsTransition } from '../domain/connection-credentials';
import type { CallCenterEvent, EventType } from '../domain/events';
import type { Operation } from '../domain/operation';
import type { UseCaseDeps } from './use-case-deps';

type Data = Record<string, string | number | boolean | null>;

const event = (id: string, type: EventType, at: string, data: Data, tenant?: string): CallCenterEvent => ({
  id,
  type,
  timestamp: at,
  data,
  ...(tenant !== undefined ? { tenant } : {}),
});

/** What kind of change a succeeded write made, for tools that only care about appointments or callbacks. */
const DOMAIN_EVENT: Partial<Record<Operation['kind'], EventType>> = {
  'appointment.book': 'appointment.booked',
  'appointment.cancel': 'appointment.cancelled',
  'appointment.reschedule': 'appointment.rescheduled',
  // Same time, another mode; or taken off the schedule for a new time: `change` tells them apart.
  'appointment.convert': 'appointment.rescheduled',
  'appointment.hold': 'appointment.rescheduled',
  'patient.update': 'patient.updated',
  'callback.request': 'callback.requested',
};

export function operationEvents(op: Operation): CallCenterEvent[] {
  const outcome =
    op.status === 'succeeded' || op.status === 'failed' || op.status === 'needs-review'
      ? op.status
      : undefined;
  if (outcome === undefined) return [];
  const base: Data = {
    connection: op.connection,
    operationId: op.id,
    kind: op.kind,
    status: op.status,
    patientId: op.patientId ?? null,
    resourceRef: op.resourceRef ?? null,
    ...(op.correlationId !== undefined ? { contactId: op.correlationId } : {}),
    ...(op.lastError !== undefined && outcome !== 'succeeded' ? { errorCode: op.lastError.code } : {}),
  };
  const tenant = op.owner?.tenant;
  const events = [event(`${op.id}.operation.${outcome}`, `operation.${outcome}`, op.updatedAt, base, tenant)];
  const domain = DOMAIN_EVENT[op.kind];
  if (outcome === 'succeeded' && domain !== undefined) {
    const extra: Data = {};
    if (op.payload.kind === 'appointment.reschedule')
      extra.previousAppointmentRef = `Appointment/${op.payload.appointmentId}`;
    if (op.payload.kind === 'appointment.cancel')
      extra.resourceRef = `Appointment/${op.payload.appointmentId}`;
    if (op.payload.kind === 'appointment.convert') {
      extra.change = 'mode';
      extra.mode = op.payload.mode;
    }
    if (op.payload.kind === 'appointment.hold') extra.change = 'held';
    events.push(
      event(`${op.id}.${domain}`, domain, op.updatedAt, { ...base, ...extra, source: 'continuum' }, tenant),
    );
  }
  return events;
}

/** A change the EHR told us about (or that a re-read found). */
export function ehrChangeEvent(
  connection: string,
  resource: { resourceType: string; id?: string; meta?: { versionId?: string } },
  facts: { readonly patientId: string | undefined; readonly appointmentStatus?: string },
  at: string,
): CallCenterEvent | undefined {
  const ref = `${resource.resourceType}/${resource.id ?? ''}`;
  const version = resource.meta?.versionId ?? at;
  let type: EventType | undefined;
  if (resource.resourceType === 'Patient') type = 'patient.updated';
  if (resource.resourceType === 'Appointment') {
    if (facts.appointmentStatus === 'cancelled') type = 'appointment.cancelled';
    else if (facts.appointmentStatus === 'booked') type = 'appointment.booked';
  }
  if (type === undefined) return undefined;
  return event(`${connection}.${ref}.${version}.${type}`, type, at, {
    connection,
    resourceRef: ref,
    patientId: facts.patientId ?? null,
    source: 'ehr',
  });
}

export function breakerEvent(connection: string, state: 'open' | 'closed', at: string): CallCenterEvent {
  const type: EventType = state === 'open' ? 'ehr.unavailable' : 'ehr.recovered';
  return event(`${connection}.${type}.${at}`, type, at, { connection });
}

/**
 * The EHR refused the connection's credentials (`ehr.credentials-rejected`), or accepts them again:
 * then `ehr.recovered` with `reason: "credentials-rejected"`, so a desk that clears its "EHR degraded"
 * banner on `ehr.recovered` needs nothing new, and one that tracks causes can tell them apart.
 */
export function credentialsEvent(connection: string, change: CredentialsTransition): CallCenterEvent {
  if (change.state === 'credentials-rejected') {
    const type: EventType = 'ehr.credentials-rejected';
    return event(`${connection}.${type}.${change.at}`, type, change.at, {
      connection,
      state: 'credentials-rejected',
      ehrStatus: change.ehrStatus ?? null,
    });
  }
  const type: EventType = 'ehr.recovered';
  return event(`${connection}.${type}.credentials.${change.at}`, type, change.at, {
    connection,
    reason: 'credentials-rejected',
    since: change.since,
  });
}

/**
 * Publishes, never failing the caller: the write or notification behind the events is done. A
 * Redis that cannot take them now loses them, and the log says so with their ids.
 */
export async function publishEvents(
  deps: Pick<UseCaseDeps, 'events' | 'logger'>,
  events: readonly CallCenterEvent[],
): Promise<void> {
  for (const e of events) {
    await deps.events.publish(e).catch((error: unknown) => {
      deps.logger.error({ err: error, eventId: e.id, type: e.type }, 'event not published');
    });
  }
}
