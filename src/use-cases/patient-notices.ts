/**
 * What crisis operations did to one patient's visits, in words an IVR can read out: "Your Tuesday
 * 8 December 10:00 UTC visit at Dorchester is now a video visit." Built from what each closure
 * filed for the patient and the receipts of its writes, so it needs no EHR; when the EHR answers,
 * the visits' current status is read from it too, and the answer says which it was.
 */
import type { Tenant } from '../domain/access';
import {
  closureCallbackKey,
  closureChangeKey,
  type ClosureAction,
  type PatientClosureEntry,
} from '../domain/closure';
import type { Appointment } from '../domain/fhir';
import type { CallbackWindow } from '../domain/callback-windows';
import { localTime, spokenTime, zonedTime } from '../domain/local-time';
import type { Freshness } from '../domain/freshness';
import type { Operation } from '../domain/operation';
import { effectiveIdempotencyKey } from './accept-write';
import { readWithContinuity } from './continuity-read';
import type { ClosureDeps } from './site-closure';
import { seesLocation } from './tenant-locations';
import type { ConnectionContext } from './use-case-deps';

export type NoticeKind = 'visit-converted' | 'visit-cancelled' | 'visit-held' | 'callback-scheduled';
export type NoticeState = 'pending' | 'done' | 'failed';

export interface PatientNotice {
  readonly kind: NoticeKind;
  readonly appointmentId: string | null;
  readonly start: string | null;
  readonly mode: string | null;
  readonly text: string;
  readonly state: NoticeState;
  readonly closureId: string;
  /** The visit's status in the EHR when it answered just now or was last seen (`freshness`). */
  readonly ehrStatus: string | null;
  /** The callback window (callback notices), null when none could be given. */
  readonly callbackStart: string | null;
  readonly callbackEnd: string | null;
}

export interface PatientNotices {
  readonly patientId: string;
  /**
   * Times in `text` are each visit's local time as the EHR wrote it (its offset is in `start`), and
   * the callback window's as it was given, or, for a window taken from the callback windows, in
   * their time zone (`callbacks.windows.timeZone`); a time written in UTC is said to be UTC.
   */
  readonly timeZone: 'as-written';
  readonly notices: readonly PatientNotice[];
  readonly freshness: Freshness;
}

const KIND: Record<ClosureAction, NoticeKind> = {
  cancel: 'visit-cancelled',
  'convert-to-virtual': 'visit-converted',
  'hold-for-reschedule': 'visit-held',
};

const MODE_WORDS: Record<string, string> = { video: 'a video visit', phone: 'a phone visit' };

function stateOf(op: Operation | undefined): NoticeState {
  if (op === undefined) return 'pending';
  if (op.status === 'succeeded') return 'done';
  if (op.status === 'queued' || op.status === 'sending') return 'pending';
  return 'failed';
}

function visitText(
  entry: PatientClosureEntry,
  visit: PatientClosureEntry['visits'][number],
  state: NoticeState,
): string {
  const place = visit.location.name ?? visit.location.id;
  const subject = `Your ${spokenTime(visit.start)} visit at ${place}`;
  const newMode = MODE_WORDS[entry.newMode ?? 'video'] ?? 'a video visit';
  if (state === 'failed') {
    return `${subject} could not be changed yet because the site is closed. We will call you about it.`;
  }
  switch (entry.action) {
    case 'cancel':
      return state === 'done'
        ? `${subject} is cancelled because the site is closed.`
        : `${subject} is being cancelled because the site is closed.`;
    case 'convert-to-virtual':
      return state === 'done'
        ? `${subject} is now ${newMode}.`
        : `${subject} is being changed to ${newMode}.`;
    case 'hold-for-reschedule':
      return `${subject} cannot take place because the site is closed. We will call you to find a new time.`;
  }
}

/** A window the closure was given, as it was given ("between Tuesday 8 December 10:00 and 12:00 UTC"). */
function givenWindowText(window: CallbackWindow): string {
  const start = localTime(window.start);
  const end = localTime(window.end);
  const zone = start.offset === 'Z' ? ' UTC' : '';
  const endDay = end.date === start.date ? '' : `${end.day} `;
  return `We will call you back between ${start.day} ${start.time} and ${endDay}${end.time}${zone}.`;
}

/** A window taken from the callback windows, in their time zone ("on Monday 7 December between 14:00 and 16:00"). */
function takenWindowText(window: CallbackWindow, timeZone: string): string {
  const start = zonedTime(window.start, timeZone);
  const end = zonedTime(window.end, timeZone);
  const zone = start.offset === 'Z' ? ' UTC' : '';
  const endDay = end.date === start.date ? '' : `${end.day} `;
  return `We will call you back on ${start.day} between ${start.time} and ${endDay}${end.time}${zone}.`;
}

function callbackText(
  entry: PatientClosureEntry,
  window: CallbackWindow | undefined,
  state: NoticeState,
  timeZone: string,
): string {
  if (state === 'failed') return 'We could not arrange a callback. Please call us when you can.';
  if (entry.callback.window !== undefined) return givenWindowText(entry.callback.window);
  if (window === undefined) return 'We will call you back as soon as we can.';
  return takenWindowText(window, timeZone);
}

/** The window the patient's callback got: its write's, else the one taken for it and not yet queued. */
function callbackWindowOf(
  entry: PatientClosureEntry,
  op: Operation | undefined,
  taken: CallbackWindow | undefined,
): CallbackWindow | undefined {
  if (entry.callback.window !== undefined) return entry.callback.window;
  if (op?.payload.kind === 'callback.request') {
    const { windowStart, windowEnd } = op.payload.callback;
    if (windowStart !== undefined && windowEnd !== undefined) return { start: windowStart, end: windowEnd };
    return undefined;
  }
  return taken;
}

async function operationByKey(
  deps: Pick<ClosureDeps, 'store'>,
  connection: string,
  entry: PatientClosureEntry,
  key: string,
): Promise<Operation | undefined> {
  const owner = { clientId: entry.clientId, tenant: entry.tenant };
  const scoped = effectiveIdempotencyKey(
    { owner, idempotencyKey: key, correlationId: undefined, requestId: undefined },
    '',
  );
  return scoped === undefined ? undefined : deps.store.findByIdempotencyKey(connection, scoped);
}

/** The visits' status in the EHR now, else as last seen; neither when the EHR never answered. */
async function ehrStatuses(
  deps: ClosureDeps,
  connection: ConnectionContext,
  patientId: string,
  appointmentIds: readonly string[],
  lastFiled: string,
): Promise<{ statuses: Readonly<Record<string, string>>; freshness: Freshness }> {
  if (appointmentIds.length === 0) {
    return { statuses: {}, freshness: { source: 'ehr', asOf: deps.clock.now().toISOString() } };
  }
  try {
    const read = await readWithContinuity<Record<string, string>>(
      deps,
      connection,
      `closure-notices:${patientId}:${[...appointmentIds].sort().join(',')}`,
      async () => {
        const found = await connection.ehr.search<Appointment>(
          'Appointment',
          { _id: appointmentIds.join(','), _count: String(appointmentIds.length) },
          { deadlineMs: connection.readDeadline('appointments') },
        );
        const statuses: Record<string, string> = {};
        for (const resource of found) {
          const model = connection.mapping.readAppointment(resource);
          statuses[model.id] = model.status;
        }
        return statuses;
      },
    );
    return { statuses: read.value, freshness: read.freshness };
  } catch {
    // Nothing cached and the EHR away: Continuum's own records still say what was done.
    return { statuses: {}, freshness: { source: 'cache', asOf: lastFiled } };
  }
}

export async function patientNotices(
  deps: ClosureDeps,
  connection: ConnectionContext,
  tenant: Tenant,
  patientId: string,
): Promise<PatientNotices> {
  const entries = (await deps.closures.forPatient(connection.name, patientId))
    .filter((entry) => entry.tenant === tenant.name)
    .map((entry) => ({ ...entry, visits: entry.visits.filter((v) => seesLocation(tenant, v.location)) }))
    .filter((entry) => entry.visits.length > 0)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const lastFiled = entries.reduce((latest, e) => (e.createdAt > latest ? e.createdAt : latest), '');
  const { statuses, freshness } = await ehrStatuses(
    deps,
    connection,
    patientId,
    [...new Set(entries.flatMap((e) => e.visits.map((v) => v.appointmentId)))],
    lastFiled || deps.clock.now().toISOString(),
  );
  const notices: PatientNotice[] = [];
  for (const entry of entries) {
    const visits = [...entry.visits].sort((a, b) => a.start.localeCompare(b.start));
    for (const visit of visits) {
      const op = await operationByKey(
        deps,
        connection.name,
        entry,
        closureChangeKey(entry.closureId, visit.appointmentId),
      );
      const state = stateOf(op);
      notices.push({
        kind: KIND[entry.action],
        appointmentId: visit.appointmentId,
        start: visit.start,
        mode: entry.action === 'convert-to-virtual' ? (entry.newMode ?? 'video') : visit.mode,
        text: visitText(entry, visit, state),
        state,
        closureId: entry.closureId,
        ehrStatus: statuses[visit.appointmentId] ?? null,
        callbackStart: null,
        callbackEnd: null,
      });
    }
    const callback = await operationByKey(
      deps,
      connection.name,
      entry,
      closureCallbackKey(entry.closureId, patientId),
    );
    // No callback write: not queued yet, or refused for good (no number on record): the record says which.
    const planned = (await deps.closures.get(entry.closureId))?.callbacks.find(
      (c) => c.patientId === patientId,
    );
    const refused = callback === undefined && planned?.refused !== undefined;
    const state = refused ? 'failed' : stateOf(callback);
    const window = state === 'failed' ? undefined : callbackWindowOf(entry, callback, planned?.window);
    notices.push({
      kind: 'callback-scheduled',
      appointmentId: null,
      start: window?.start ?? null,
      mode: 'phone',
      text: callbackText(entry, window, state, deps.callbackWindows.timeZone),
      state,
      closureId: entry.closureId,
      ehrStatus: null,
      callbackStart: window?.start ?? null,
      callbackEnd: window?.end ?? null,
    });
  }
  return { patientId, timeZone: 'as-written', notices, freshness };
}
