/**
 * Cache warm-up: the continuity cache is filled before an outage, not only with what agents happened
 * to read. The patients with appointments in the next few days (at the configured locations) have
 * their summary read through the very code a `GET /v1/patients/:id/summary` runs, with the route's
 * default window, so the entries written are exactly those such a read falls back to. A morning
 * outage then still finds the day's patients, their visits, and (through the phone index the reads
 * refresh) their callers' numbers.
 */
import { pendingPatientWrites } from './pending-writes';
import { isEhrUnavailable } from '../domain/errors';
import type { Appointment } from '../domain/fhir';
import { listPatientAppointments } from './patient-appointments';
import type { PatientReadDeps } from './patient-read';
import { patientSummary, SUMMARY_DAYS, SUMMARY_LIMIT, UPCOMING_STATUSES } from './patient-summary';
import type { ConnectionContext } from './use-case-deps';

/**
 * Patients warmed per run at most, soonest appointment first: each costs two EHR reads, and a run
 * must finish well inside its interval without crowding agents' own reads out of the EHR.
 */
export const WARMUP_MAX_PATIENTS = 2000;
/** Patients read at once: enough to finish a clinic's day in seconds, few enough to stay background. */
const WARMUP_CONCURRENCY = 4;
/** Pages of 100 appointments followed per location searched. */
const MAX_PAGES = 50;
/** The appointment search is not an agent's read: it may take longer than the read deadline. */
const SEARCH_DEADLINE_MS = 10_000;
const DAY_MS = 86_400_000;

export interface WarmupOptions {
  /** Appointments from now to now + `days` select the patients. */
  readonly days: number;
  /** FHIR Location ids whose appointments count; empty = every location. */
  readonly locations: readonly string[];
  readonly maxPatients?: number;
  readonly concurrency?: number;
  /**
   * When the next run is due. A summary's appointment entry is cached per whole UTC days, so one
   * read after the next UTC midnight looks up another entry: when the next run comes after that
   * midnight, this run caches that entry too, and an outage starting overnight still finds it.
   */
  readonly nextRunAt?: Date;
  /** Past this instant no further patient is started (the run must not outlive its lock). */
  readonly deadline?: Date;
  /** Aborted on shutdown: no further patient is started. */
  readonly signal?: AbortSignal;
}

export type WarmupStop = 'ehr-unavailable' | 'deadline' | 'aborted';

export interface WarmupResult {
  /** Patients whose summary the EHR answered and the cache now holds. */
  readonly patients: number;
  /** Appointments found in the window. */
  readonly appointments: number;
  /** Patients with an appointment in the window that were not warmed: over the cap, failed, or not reached. */
  readonly skipped: number;
  readonly durationMs: number;
  /**
   * Appointment searches the EHR answered only in part (stopped before the last page): the
   * patients of the appointments not read were not warmed, and are not counted in `skipped`.
   */
  readonly truncatedSearches: number;
  /** Set when the run ended before every patient was tried. */
  readonly stoppedEarly?: WarmupStop;
}

const isUnavailable = (error: unknown): boolean => isEhrUnavailable(error);

/** The summary's appointment window as a read on the day after `now` asks for it (same cache key). */
function windowOnNextDay(now: Date, days: number) {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  // Any instant of that day but midnight itself names the same whole days.
  const from = new Date(midnight + 60_000);
  return { from, to: new Date(from.getTime() + days * DAY_MS), statuses: UPCOMING_STATUSES };
}

/** The appointments in the window, soonest first, one search per location (or one for all). */
async function appointmentsInWindow(
  connection: ConnectionContext,
  now: Date,
  options: WarmupOptions,
): Promise<{ readonly appointments: Appointment[]; readonly truncatedSearches: number }> {
  const base = {
    date: [`ge${now.toISOString()}`, `lt${new Date(now.getTime() + options.days * DAY_MS).toISOString()}`],
    status: [...UPCOMING_STATUSES].sort().join(','),
    _sort: 'date',
    _count: '100',
  };
  const searches =
    options.locations.length > 0 ? options.locations.map((id) => `Location/${id}`) : [undefined];
  const byId = new Map<string, Appointment>();
  let truncatedSearches = 0;
  for (const location of searches) {
    const found = await connection.ehr.searchPages<Appointment>(
      'Appointment',
      location === undefined ? base : { ...base, location },
      { deadlineMs: Math.max(SEARCH_DEADLINE_MS, connection.readDeadlineMs), maxPages: MAX_PAGES },
    );
    if (found.truncated !== undefined) truncatedSearches++;
    for (const appointment of found.matches) byId.set(appointment.id ?? `#${byId.size}`, appointment);
  }
  const startOf = (a: Appointment): number => (a.start === undefined ? Infinity : Date.parse(a.start));
  return { appointments: [...byId.values()].sort((a, b) => startOf(a) - startOf(b)), truncatedSearches };
}

/** The distinct patients of these appointments, in appointment order; unreadable ones are passed over. */
function patientsOf(connection: ConnectionContext, appointments: readonly Appointment[]): string[] {
  const ids = new Set<string>();
  for (const resource of appointments) {
    try {
      const patientId = connection.mapping.readAppointment(resource).patientId;
      if (patientId !== undefined) ids.add(patientId);
    } catch {
      // A record the profile cannot read is no reason to leave the others cold.
    }
  }
  return [...ids];
}

export async function warmCache(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  options: WarmupOptions,
): Promise<WarmupResult> {
  const started = deps.clock.now();
  const elapsed = (): number => deps.clock.now().getTime() - started.getTime();
  let truncatedSearches = 0;
  const finish = (result: Omit<WarmupResult, 'durationMs' | 'truncatedSearches'>): WarmupResult => {
    const done = { ...result, truncatedSearches, durationMs: elapsed() };
    // Counts only: no patient is named in the logs.
    deps.logger.info({ connection: connection.name, ...done }, 'continuity cache warm-up finished');
    return done;
  };

  if (!(await connection.ehrAvailable())) {
    return finish({ patients: 0, appointments: 0, skipped: 0, stoppedEarly: 'ehr-unavailable' });
  }
  let appointments: Appointment[];
  try {
    ({ appointments, truncatedSearches } = await appointmentsInWindow(connection, started, options));
    await connection.ehrAnswered();
  } catch (error) {
    if (!isUnavailable(error)) throw error;
    await connection.ehrFailed(error);
    return finish({ patients: 0, appointments: 0, skipped: 0, stoppedEarly: 'ehr-unavailable' });
  }

  const candidates = patientsOf(connection, appointments);
  const chosen = candidates.slice(0, options.maxPatients ?? WARMUP_MAX_PATIENTS);
  const nextDay =
    options.nextRunAt !== undefined &&
    options.nextRunAt.toISOString().slice(0, 10) !== started.toISOString().slice(0, 10)
      ? windowOnNextDay(started, SUMMARY_DAYS)
      : undefined;

  // The warm-up is there to refresh the cache: it waits for the EHR up to the read deadlines, where
  // an agent's read with an answer cached would take the cache after `staleAfterMs` (and a loaded
  // EHR answering in 300 ms would then look down to it).
  const waitingForEhr: ConnectionContext = {
    ...connection,
    staleAfterMs: Math.max(
      connection.readDeadlineMs,
      connection.readDeadline('patient'),
      connection.readDeadline('appointments'),
    ),
  };
  let warmed = 0;
  let failed = 0;
  let next = 0;
  let stoppedEarly: WarmupStop | undefined;
  const warmOne = async (patientId: string): Promise<void> => {
    try {
      const summary = await patientSummary(deps, waitingForEhr, patientId, {
        days: SUMMARY_DAYS,
        limit: SUMMARY_LIMIT,
        viewer: undefined,
      });
      // Served from the cache: the EHR stopped answering (down, slow or breaker open). Leave it be.
      if (summary.freshness.source !== 'ehr' || !summary.appointmentsAvailable) {
        stoppedEarly ??= 'ehr-unavailable';
        return;
      }
      if (nextDay !== undefined) {
        const later = await listPatientAppointments(
          deps,
          waitingForEhr,
          patientId,
          nextDay,
          pendingPatientWrites(deps, connection, patientId, undefined),
        );
        if (later.freshness.source !== 'ehr') {
          stoppedEarly ??= 'ehr-unavailable';
          return;
        }
      }
      warmed++;
    } catch (error) {
      if (isUnavailable(error)) stoppedEarly ??= 'ehr-unavailable';
      // Anything else (a patient since deleted, a record the profile cannot read): the next one.
      else failed++;
    }
  };
  const lane = async (): Promise<void> => {
    while (stoppedEarly === undefined) {
      if (options.signal?.aborted === true) stoppedEarly = 'aborted';
      else if (options.deadline !== undefined && deps.clock.now() >= options.deadline)
        stoppedEarly = 'deadline';
      else if (!(await connection.ehrAvailable())) stoppedEarly = 'ehr-unavailable';
      if (stoppedEarly !== undefined) return;
      // Taken with no await in between, so no two lanes read the same patient.
      const patientId = chosen[next];
      if (patientId === undefined) return;
      next++;
      await warmOne(patientId);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency ?? WARMUP_CONCURRENCY, chosen.length) }, lane),
  );

  if (failed > 0) {
    deps.logger.warn(
      { connection: connection.name, failed },
      'continuity cache warm-up: some patients not read',
    );
  }
  return finish({
    patients: warmed,
    appointments: appointments.length,
    skipped: candidates.length - warmed,
    ...(stoppedEarly !== undefined ? { stoppedEarly } : {}),
  });
}
