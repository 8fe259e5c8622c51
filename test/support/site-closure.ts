/**
 * Site-closure checks, judged from outside: the EHR's own records (every Appointment and Task before
 * and after, each targeted appointment's `_history`), the events a subscriber received, and the
 * closure's progress as the crisis lead sees it. Shared by the in-process and the restart tests.
 */
import { createServer, type Server } from 'node:http';
import {
  addDays,
  isoDate,
  weekdayOf,
  ZonedCalendar,
  type LocalDate,
} from '../../adapters/ehr/sandbox/seed-time';
import { CLINIC_TIME_ZONE } from '../../adapters/ehr/sandbox/seed';
import { http } from './http';
import { history } from './pipeline';
import { waitFor } from './wait-for';

export type ClosureAction = 'cancel' | 'convert-to-virtual' | 'hold-for-reschedule';

export interface ClosureScope {
  readonly locations: readonly string[];
  /** ISO instants with the clinic's offset: the first closed day's midnight, the day after the last. */
  readonly from: string;
  readonly to: string;
}

const MODE_EXTENSION = 'https://continuum.example/fhir/StructureDefinition/appointment-mode';
const calendar = new ZonedCalendar(CLINIC_TIME_ZONE);

/**
 * Three closed days, Monday to Wednesday, `weeksAhead` weeks after the first Monday from tomorrow on:
 * whole clinic days in the seeded calendar (which starts today), each with its booked visits.
 */
export function closedDays(weeksAhead: number): { readonly from: string; readonly to: string } {
  let day: LocalDate = addDays(calendar.dateOf(new Date()), 1);
  while (weekdayOf(day) !== 1) day = addDays(day, 1);
  const monday = addDays(day, 7 * weeksAhead);
  return { from: calendar.at(monday, 0, 0).iso, to: calendar.at(addDays(monday, 3), 0, 0).iso };
}

/** The clinic's calendar day of an instant, `YYYY-MM-DD`. */
export function clinicDate(instant: string): string {
  return isoDate(calendar.dateOf(new Date(instant)));
}

/** Every resource a search finds, following the server's `next` links. */
export async function searchAll(fhirBase: string, query: string): Promise<any[]> {
  const out: any[] = [];
  let url: string | undefined = `${fhirBase}/${query}${query.includes('?') ? '&' : '?'}_count=1000`;
  for (let page = 0; url !== undefined && page < 50; page++) {
    const bundle: any = (await http('GET', url, { timeoutMs: 30000 })).body;
    if (bundle?.resourceType !== 'Bundle') throw new Error(`search ${query}: ${JSON.stringify(bundle)}`);
    out.push(...((bundle.entry ?? []) as { resource: any }[]).map((e) => e.resource));
    url = (bundle.link as { relation: string; url: string }[] | undefined)?.find(
      (l) => l.relation === 'next',
    )?.url;
  }
  return out;
}

export interface EhrSnapshot {
  readonly appointments: ReadonlyMap<string, any>;
  readonly tasks: ReadonlyMap<string, any>;
}

export async function ehrSnapshot(fhirBase: string): Promise<EhrSnapshot> {
  const [appointments, tasks] = await Promise.all([
    searchAll(fhirBase, 'Appointment'),
    searchAll(fhirBase, 'Task'),
  ]);
  return {
    appointments: new Map(appointments.map((a) => [a.id as string, a])),
    tasks: new Map(tasks.map((t) => [t.id as string, t])),
  };
}

const actorOf = (appointment: any, type: string): string | undefined =>
  (appointment.participant as { actor?: { reference?: string } }[] | undefined)
    ?.map((p) => p.actor?.reference)
    .find((ref) => ref?.startsWith(`${type}/`))
    ?.slice(type.length + 1);

export const patientOf = (appointment: any): string | undefined => actorOf(appointment, 'Patient');
export const locationOf = (appointment: any): string | undefined => actorOf(appointment, 'Location');
export const practitionerOf = (appointment: any): string | undefined => actorOf(appointment, 'Practitioner');
export const modeOf = (appointment: any): string | undefined =>
  (appointment.extension as { url: string; valueCode?: string }[] | undefined)?.find(
    (e) => e.url === MODE_EXTENSION,
  )?.valueCode;

/** The booked visits a closure of `scope` must change: at one of its locations, starting inside the window. */
export function targetedAppointments(snapshot: EhrSnapshot, scope: ClosureScope): any[] {
  const from = Date.parse(scope.from);
  const to = Date.parse(scope.to);
  return [...snapshot.appointments.values()]
    .filter((a) => a.status === 'booked')
    .filter((a) => scope.locations.includes(locationOf(a) ?? ''))
    .filter((a) => Date.parse(a.start as string) >= from && Date.parse(a.start as string) < to)
    .sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

/** Whether a version of an appointment shows the closure's change. */
export function showsChange(appointment: any, action: ClosureAction, mode: 'video' | 'phone'): boolean {
  if (action === 'cancel') return appointment.status === 'cancelled';
  if (action === 'hold-for-reschedule') return appointment.status === 'waitlist';
  return modeOf(appointment) === mode && appointment.status !== 'cancelled';
}

export interface ClosureVerdict {
  readonly appointments: number;
  readonly patients: number;
  /** Targeted appointments whose change is in the EHR, made by exactly one version. */
  readonly changed: number;
  /** Extra versions of targeted appointments, extra callback Tasks per patient, events heard twice. */
  readonly duplicates: number;
  /** Patients with a callback Task from the closure. */
  readonly callbacks: number;
  /** Appointments changed or created and Tasks created that the closure had no business with. */
  readonly outsideScope: number;
  /** Targeted appointments untouched (a stopped closure leaves some). */
  readonly untouched: readonly string[];
  /** One line per anomaly, for the assertion message. */
  readonly problems: readonly string[];
}

/**
 * What the closure did, from the EHR: each targeted appointment's history (one version with the
 * change, nothing else), a Task per affected patient, and nothing else changed or created.
 */
export async function judgeClosure(input: {
  readonly fhirBase: string;
  readonly before: EhrSnapshot;
  readonly after: EhrSnapshot;
  readonly scope: ClosureScope;
  readonly action: ClosureAction;
  readonly mode?: 'video' | 'phone';
  readonly priority?: string;
}): Promise<ClosureVerdict> {
  const { before, after, action } = input;
  const mode = input.mode ?? 'video';
  const targets = targetedAppointments(before, input.scope);
  const targetIds = new Set(targets.map((a) => a.id as string));
  const patients = new Set(targets.map((a) => patientOf(a) ?? ''));
  const problems: string[] = [];
  const untouched: string[] = [];
  let changed = 0;
  let duplicates = 0;
  let outsideScope = 0;

  const histories = await Promise.all(
    targets.map((a) => history(input.fhirBase, `Appointment/${a.id as string}`)),
  );
  targets.forEach((target, index) => {
    const versions = histories[index] ?? [];
    const since = versions.filter((v) => Number(v.meta.versionId) > Number(target.meta.versionId));
    const current = after.appointments.get(target.id as string);
    if (since.length === 0) {
      untouched.push(target.id as string);
      return;
    }
    const withChange = since.filter(
      (v, i) => showsChange(v, action, mode) && !showsChange(i === 0 ? target : since[i - 1], action, mode),
    );
    if (withChange.length === 1 && since.length === 1 && current && showsChange(current, action, mode))
      changed++;
    else
      problems.push(
        `Appointment/${target.id as string}: ${since.length} new versions, ${withChange.length} with the change, now ${JSON.stringify({ status: current?.status, mode: current ? modeOf(current) : undefined })}`,
      );
    duplicates += Math.max(0, since.length - 1);
    if (action !== 'cancel' && current && (current.start !== target.start || current.end !== target.end)) {
      problems.push(
        `Appointment/${target.id as string}: time moved from ${target.start as string} to ${current.start as string}`,
      );
    }
  });

  for (const [id, appointment] of after.appointments) {
    if (targetIds.has(id)) continue;
    const was = before.appointments.get(id);
    if (was === undefined || was.meta.versionId !== appointment.meta.versionId) {
      outsideScope++;
      problems.push(`Appointment/${id} (outside the closure) ${was === undefined ? 'created' : 'changed'}`);
    }
  }

  const tasksByPatient = new Map<string, any[]>();
  for (const [id, task] of after.tasks) {
    if (before.tasks.has(id)) continue;
    const patient = String(task.for?.reference ?? '').replace('Patient/', '');
    if (!patients.has(patient)) {
      outsideScope++;
      problems.push(`Task/${id} for ${String(task.for?.reference)}, not a patient of the closure`);
      continue;
    }
    tasksByPatient.set(patient, [...(tasksByPatient.get(patient) ?? []), task]);
  }
  for (const [patient, tasks] of tasksByPatient) {
    if (tasks.length > 1) {
      duplicates += tasks.length - 1;
      problems.push(`Patient/${patient}: ${tasks.length} callback Tasks`);
    }
    const task = tasks[0];
    if (input.priority !== undefined && task.priority !== input.priority) {
      problems.push(`Task/${task.id as string}: priority ${String(task.priority)}, not ${input.priority}`);
    }
  }
  return {
    appointments: targets.length,
    patients: patients.size,
    changed,
    duplicates,
    callbacks: tasksByPatient.size,
    outsideScope,
    untouched,
    problems,
  };
}

/** The line each closure case prints. */
export function closureLine(name: string, verdict: ClosureVerdict, extra = ''): string {
  return (
    `closure ${name}: appointments ${verdict.appointments}, changed ${verdict.changed}, ` +
    `duplicates ${verdict.duplicates}, callbacks ${verdict.callbacks}, outside scope ${verdict.outsideScope}` +
    extra
  );
}

/** The progress a crisis lead polls, until `done` says it is reached or the deadline passes. */
export async function waitForClosure(
  url: string,
  id: string,
  headers: Record<string, string>,
  done: (progress: any) => boolean,
  options: { timeoutMs?: number; what?: string; seen?: any[] } = {},
): Promise<any> {
  let last: any;
  try {
    return await waitFor(
      async () => {
        const res = await http('GET', `${url}/v1/crisis/closures/${id}`, { headers, timeoutMs: 10000 });
        if (res.status !== 200)
          throw new Error(`GET closure answered ${res.status}: ${JSON.stringify(res.body)}`);
        last = res.body;
        options.seen?.push(res.body);
        return done(res.body) ? res.body : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 90000, intervalMs: 100, what: options.what ?? `closure ${id}` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last progress ${JSON.stringify(last)}`);
  }
}

export const finished = (p: any): boolean =>
  p.status === 'completed' || p.status === 'failed' || p.status === 'stopped';

/** Waits until the connection's write queue holds nothing queued or being sent. */
export async function waitForIdlePipeline(
  url: string,
  connection = 'sandbox',
  timeoutMs = 60000,
): Promise<void> {
  await waitFor(
    async () => {
      const status = (await http('GET', `${url}/v1/status`, { timeoutMs: 10000 })).body;
      const queue = status.connections?.[connection]?.queue;
      return queue !== undefined && queue.queued === 0 && queue.sending === 0 ? true : undefined;
    },
    { timeoutMs, intervalMs: 200, what: 'the write queue to be empty' },
  );
}

export interface HeardEvent {
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

/** A call-center tool's webhook endpoint: keeps every event it is sent. */
export async function startEventSink(): Promise<{
  readonly url: string;
  readonly received: HeardEvent[];
  close(): Promise<void>;
}> {
  const received: HeardEvent[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          type: string;
          data: Record<string, unknown>;
        };
        received.push({ id: String(req.headers['webhook-id']), type: body.type, data: body.data });
      } catch {
        // not an event: ignored, still answered
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/events`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The event a closure's change of one appointment must raise. */
export function changeEventType(action: ClosureAction): string {
  return action === 'cancel' ? 'appointment.cancelled' : 'appointment.rescheduled';
}

const mentions = (event: HeardEvent, appointmentId: string): boolean =>
  Object.values(event.data).some((v) => v === `Appointment/${appointmentId}`) ||
  event.data.appointmentId === appointmentId;

/**
 * Per targeted appointment, the distinct change events heard (by webhook id); per affected patient,
 * the distinct `callback.requested` events. Waits until every one is heard once or the deadline passes.
 */
export async function heardEvents(
  sink: { readonly received: readonly HeardEvent[] },
  /** How many events the sink had heard before the closure: only later ones count. */
  heardBefore: number,
  targets: readonly any[],
  action: ClosureAction,
  timeoutMs = 30000,
): Promise<{ perAppointment: Map<string, number>; perPatient: Map<string, number>; extra: string[] }> {
  const type = changeEventType(action);
  const count = () => {
    const received = sink.received.slice(heardBefore);
    const unique = new Map(received.map((e) => [e.id, e]));
    const events = [...unique.values()].filter((e) => e.data.source !== 'ehr');
    const perAppointment = new Map<string, number>();
    const perPatient = new Map<string, number>();
    for (const target of targets) {
      perAppointment.set(
        target.id as string,
        events.filter((e) => e.type === type && mentions(e, target.id as string)).length,
      );
      const patient = patientOf(target) ?? '';
      perPatient.set(
        patient,
        events.filter((e) => e.type === 'callback.requested' && e.data.patientId === patient).length,
      );
    }
    const extra: string[] = [];
    if (action !== 'cancel') {
      const expected = action === 'convert-to-virtual' ? 'mode' : 'held';
      for (const e of events.filter((x) => x.type === type)) {
        if (targets.some((t) => mentions(e, t.id as string)) && e.data.change !== expected) {
          extra.push(`${e.type} ${e.id}: change ${String(e.data.change)}, not ${expected}`);
        }
      }
    }
    return { perAppointment, perPatient, extra };
  };
  try {
    return await waitFor(
      () => {
        const seen = count();
        const all = [...seen.perAppointment.values(), ...seen.perPatient.values()].every((n) => n >= 1);
        return Promise.resolve(all ? seen : undefined);
      },
      { timeoutMs, intervalMs: 200, what: 'every change and callback event' },
    );
  } catch {
    return count();
  }
}

/** The failed writes' receipts (kind, code, detail), to say why a closure's writes failed. */
export async function failedWrites(url: string, since: string): Promise<string[]> {
  const res = await http(
    'GET',
    `${url}/v1/operations?status=failed&since=${encodeURIComponent(since)}&limit=500`,
  );
  const operations = (res.body.operations ?? res.body.items ?? []) as any[];
  const reasons = new Map<string, number>();
  for (const op of operations) {
    const why = `${String(op.kind)}: ${String(op.lastError?.code)} ${String(op.lastError?.message ?? op.lastError?.detail ?? '')}`;
    reasons.set(why, (reasons.get(why) ?? 0) + 1);
  }
  return [...reasons].map(([why, n]) => `${n} x ${why}`);
}
