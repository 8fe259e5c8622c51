/**
 * The worker's side of an EHR notification: re-read what changed and bring Continuum's own
 * copies up to date, so lookups and reads during a later outage show the EHR's latest: a patient's
 * cache entry and phone numbers are refreshed; an appointment's patient loses its cached lists
 * (they no longer match the EHR). Safe to run twice.
 */
import type { Resource } from '../domain/fhir';
import { ContinuumError } from '../domain/errors';
import type { QueuedNotification } from '../domain/ports';
import { NOTIFIED_TYPES, type NotifiedType } from './ehr-notification';
import { appointmentsCacheGroup } from './patient-appointments';
import { ehrChangeEvent, publishEvents } from './call-center-events';
import { rememberPatient } from './patient-read';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';
import { notificationRecord, recordAfterTheFact } from './worker-audit';

/** Resources re-read for one gap or empty notification at most; a larger backlog is a resync. */
const MAX_REREAD = 500;

export interface NotificationOutcome {
  readonly refreshed: number;
  readonly gone: number;
  /**
   * Set when the re-read of what changed since a gap did not get every change (more than it reads
   * at most, or the EHR's paging stopped early): copies may stay stale until read again.
   */
  readonly incomplete?: true;
}

type NotificationDeps = Pick<
  UseCaseDeps,
  'connections' | 'phoneIndex' | 'readCache' | 'clock' | 'logger' | 'events' | 'audit' | 'metrics'
>;

export async function processEhrNotification(
  deps: NotificationDeps,
  notification: QueuedNotification,
): Promise<NotificationOutcome> {
  try {
    const outcome = await applyNotification(deps, notification);
    deps.metrics?.ehrNotification(notification.connection, outcome.incomplete ? 'partial' : 'applied');
    return outcome;
  } catch (error) {
    // Counted only for a configured connection: the label must stay within the configuration.
    if (deps.connections.has(notification.connection)) {
      deps.metrics?.ehrNotification(notification.connection, 'failed');
    }
    throw error;
  }
}

async function applyNotification(
  deps: NotificationDeps,
  notification: QueuedNotification,
): Promise<NotificationOutcome> {
  const connection = deps.connections.get(notification.connection);
  if (!connection)
    throw new ContinuumError('VALIDATION', { detail: `unknown EHR connection ${notification.connection}` });
  const deadline = { deadlineMs: connection.readDeadlineMs };
  const resources: Resource[] = [];
  let gone = 0;

  for (const ref of notification.refs) {
    try {
      resources.push(await connection.ehr.read<Resource>(ref.resourceType as NotifiedType, ref.id, deadline));
    } catch (error) {
      if (!(error instanceof ContinuumError) || error.code !== 'NOT_FOUND') throw error;
      gone++;
      if (ref.resourceType === 'Patient') await deps.phoneIndex.replace(connection.name, ref.id, []);
    }
  }
  let incomplete = false;
  if (notification.rereadSince !== undefined) {
    const changed = await changedSince(connection, notification.rereadSince);
    resources.push(...changed.resources);
    incomplete = changed.incomplete;
  }
  const patients: string[] = [];
  const touched: string[] = [];
  for (const resource of resources) {
    const facts = await refresh(deps, connection, resource);
    if (facts.patientId !== undefined) patients.push(`Patient/${facts.patientId}`);
    if (resource.resourceType !== 'Patient' && resource.id !== undefined)
      touched.push(`${resource.resourceType}/${resource.id}`);
    const event = ehrChangeEvent(connection.name, resource, facts, deps.clock.now().toISOString());
    if (event !== undefined) await publishEvents(deps, [event]);
  }
  await recordAfterTheFact(
    deps,
    notificationRecord(connection.name, notification.eventId, patients, touched, deps.clock.now()),
    deps.logger,
  );
  const outcome = { refreshed: resources.length, gone, ...(incomplete ? { incomplete: true as const } : {}) };
  if (incomplete) {
    deps.logger.warn(
      { connection: connection.name, eventId: notification.eventId, ...outcome },
      'EHR notification applied in part: not every change since the gap was re-read',
    );
  } else {
    deps.logger.info(
      { connection: connection.name, eventId: notification.eventId, ...outcome },
      'EHR notification applied',
    );
  }
  return outcome;
}

async function changedSince(
  connection: ConnectionContext,
  since: string,
): Promise<{ readonly resources: Resource[]; readonly incomplete: boolean }> {
  const found: Resource[] = [];
  let incomplete = false;
  for (const type of NOTIFIED_TYPES) {
    const page = await connection.ehr.searchPages<Resource>(
      type,
      { _lastUpdated: `ge${since}`, _count: '100' },
      { deadlineMs: connection.readDeadlineMs, maxPages: Math.ceil(MAX_REREAD / 100) },
    );
    // A page that failed may answer on the next attempt: the job is retried rather than half done.
    if (page.truncated?.reason === 'page-failed') {
      throw new ContinuumError('EHR_UNAVAILABLE', {
        detail: `EHR ${connection.name}: a later page of the ${type} re-read failed`,
      });
    }
    // Past the page limit, or a next link the connection does not follow: retrying would not help.
    if (page.truncated !== undefined) incomplete = true;
    found.push(...page.matches);
  }
  return { resources: found.slice(0, MAX_REREAD), incomplete: incomplete || found.length > MAX_REREAD };
}

async function refresh(
  deps: Pick<UseCaseDeps, 'phoneIndex' | 'readCache' | 'clock' | 'logger'>,
  connection: ConnectionContext,
  resource: Resource,
): Promise<{ readonly patientId: string | undefined; readonly appointmentStatus?: string }> {
  if (resource.resourceType === 'Patient') {
    const model = connection.mapping.readPatient(resource);
    await rememberPatient(deps, connection, model, { cache: true });
    return { patientId: model.id };
  }
  if (resource.resourceType === 'Appointment') {
    const appointment = connection.mapping.readAppointment(resource);
    if (appointment.patientId !== undefined) {
      await deps.readCache.forgetGroup(connection.name, appointmentsCacheGroup(appointment.patientId));
    }
    return { patientId: appointment.patientId, appointmentStatus: appointment.status };
  }
  return { patientId: undefined };
}
