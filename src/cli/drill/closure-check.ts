/**
 * After the drain: what did the closure do, in the EHR's own records? Each targeted visit must
 * show exactly one new version since the closure was submitted (its `_history`), no visit outside
 * the closed site and window may have changed, and each affected patient must hold exactly one
 * callback Task carrying the business identifier of an operation (`urn:continuum:operation|<id>`)
 * that is not one of the load's own writes.
 */
import { field, stringField, type DrillHttp } from './drill-http';
import { OPERATION_SYSTEM } from './history-check';

export interface ClosureCheck {
  /** Visits the closure targeted (its dry run, and any in-scope visit changed since). */
  readonly appointments: number;
  /** Targeted visits showing exactly one version since the closure. */
  readonly changedOnce: number;
  /** Targeted visits showing more than one. */
  readonly duplicates: number;
  /**
   * Targeted visits with no new version whose closure write succeeded finding them already as
   * wanted (a visit that was a video visit before): right, and no change is owed.
   */
  readonly alreadyAsWanted: number;
  /** Targeted visits with no new version and no such receipt. */
  readonly unchanged: number;
  /** Visits changed since the closure that are at another site or outside its window. */
  readonly outsideScope: number;
  readonly patients: number;
  /** Callback Tasks from the closure, found in the EHR. */
  readonly callbacks: number;
  readonly patientsWithOneCallback: number;
  readonly patientsWithoutCallback: number;
  readonly patientsWithSeveralCallbacks: number;
  /** Closure callback Tasks for patients none of whose visits it targeted. */
  readonly callbacksOutsideScope: number;
  /** Histories or searches that did not answer. */
  readonly unchecked: number;
}

export interface ClosureScope {
  readonly location: string;
  readonly from: Date;
  readonly to: Date;
  /** Just before the real run was submitted: versions from then on are its doing. */
  readonly submittedAt: Date;
  /** `Appointment/<id>` of the dry run made just before the real run. */
  readonly appointmentRefs: readonly string[];
  readonly patientRefs: readonly string[];
  /** The load's own writes: their Tasks are not the closure's. */
  readonly loadOperationIds: ReadonlySet<string>;
}

type Resource = Record<string, unknown>;
const PAGE = 1000;

async function readAll(http: DrillHttp, type: string): Promise<Resource[] | undefined> {
  const out: Resource[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const res = await http.request('GET', `/sandbox/fhir/${type}?_count=${PAGE}&_offset=${offset}`, {
      timeoutMs: 60_000,
    });
    if (res.status !== 200) return undefined;
    const entries = field(res.body, 'entry');
    const page = (Array.isArray(entries) ? entries : [])
      .map((e) => field(e, 'resource'))
      .filter((r): r is Resource => typeof r === 'object' && r !== null);
    out.push(...page);
    if (page.length < PAGE) return out;
  }
}

function lastUpdated(resource: unknown): number {
  return Date.parse(stringField(resource, 'meta', 'lastUpdated') ?? '');
}

function actorOf(appointment: Resource, type: 'Location' | 'Patient'): string | undefined {
  const participants = field(appointment, 'participant');
  for (const p of Array.isArray(participants) ? participants : []) {
    const ref = stringField(p, 'actor', 'reference');
    if (ref?.startsWith(`${type}/`) === true) return ref.slice(type.length + 1);
  }
  return undefined;
}

function inScope(appointment: Resource, scope: ClosureScope): boolean {
  const start = Date.parse(stringField(appointment, 'start') ?? '');
  return (
    actorOf(appointment, 'Location') === scope.location &&
    start >= scope.from.getTime() &&
    start < scope.to.getTime()
  );
}

/** Versions of one visit written since the closure was submitted (-1: its history did not answer). */
async function versionsSince(http: DrillHttp, id: string, since: number): Promise<number> {
  const res = await http.request(
    'GET',
    `/sandbox/fhir/Appointment/${encodeURIComponent(id)}/_history?_count=100`,
  );
  if (res.status !== 200) return -1;
  const entries = field(res.body, 'entry');
  return (Array.isArray(entries) ? entries : []).filter((e) => lastUpdated(field(e, 'resource')) >= since)
    .length;
}

/**
 * The visit's own closure write (a receipt since the closure, about this visit, not the load's)
 * succeeded noting that the visit was already as wanted.
 */
async function foundAsWanted(http: DrillHttp, id: string, scope: ClosureScope): Promise<boolean> {
  const visit = await http.request('GET', `/sandbox/fhir/Appointment/${encodeURIComponent(id)}`);
  const patient = visit.status === 200 ? actorOf(visit.body as Resource, 'Patient') : undefined;
  if (patient === undefined) return false;
  const since = encodeURIComponent(scope.submittedAt.toISOString());
  const res = await http.request(
    'GET',
    `/v1/operations?status=succeeded&patient=${encodeURIComponent(patient)}&since=${since}&limit=500`,
  );
  const receipts = field(res.body, 'operations');
  return (Array.isArray(receipts) ? receipts : []).some((r) => {
    const history = field(r, 'history');
    return (
      stringField(r, 'resourceRef') === `Appointment/${id}` &&
      stringField(r, 'status') === 'succeeded' &&
      !scope.loadOperationIds.has(stringField(r, 'operationId') ?? '') &&
      Array.isArray(history) &&
      history.some((h) => /already/.test(stringField(h, 'note') ?? ''))
    );
  });
}

function operationIdOf(task: Resource): string | undefined {
  const identifiers = field(task, 'identifier');
  for (const i of Array.isArray(identifiers) ? identifiers : []) {
    if (field(i, 'system') === OPERATION_SYSTEM) return stringField(i, 'value');
  }
  return undefined;
}

export async function checkClosureInEhr(http: DrillHttp, scope: ClosureScope): Promise<ClosureCheck> {
  const since = scope.submittedAt.getTime();
  let unchecked = 0;
  const targets = new Set(scope.appointmentRefs.map((r) => r.replace(/^Appointment\//, '')));
  const patients = new Set(scope.patientRefs.map((r) => r.replace(/^Patient\//, '')));

  // Every visit updated since the closure (a create is version 1 and is the load's booking).
  let outsideScope = 0;
  const appointments = await readAll(http, 'Appointment');
  if (appointments === undefined) unchecked++;
  for (const a of appointments ?? []) {
    const id = stringField(a, 'id');
    if (id === undefined || stringField(a, 'meta', 'versionId') === '1' || !(lastUpdated(a) >= since))
      continue;
    if (targets.has(id)) continue;
    if (inScope(a, scope)) {
      // Booked at the site after the dry run and found by the real run: a target all the same.
      targets.add(id);
      const patient = actorOf(a, 'Patient');
      if (patient !== undefined) patients.add(patient);
    } else {
      outsideScope++;
    }
  }

  let changedOnce = 0;
  let duplicates = 0;
  let unchanged = 0;
  let alreadyAsWanted = 0;
  const queue = [...targets];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const n = await versionsSince(http, id, since);
      if (n < 0) unchecked++;
      else if (n === 0 && (await foundAsWanted(http, id, scope))) alreadyAsWanted++;
      else if (n === 0) unchanged++;
      else if (n === 1) changedOnce++;
      else duplicates++;
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));

  const perPatient = new Map<string, number>();
  let callbacks = 0;
  let callbacksOutsideScope = 0;
  const tasks = await readAll(http, 'Task');
  if (tasks === undefined) unchecked++;
  for (const t of tasks ?? []) {
    const operationId = operationIdOf(t);
    if (operationId === undefined || scope.loadOperationIds.has(operationId)) continue;
    // A Task written before the closure is not its doing; later updates (delivery) keep authoredOn.
    const authored = Date.parse(stringField(t, 'authoredOn') ?? stringField(t, 'meta', 'lastUpdated') ?? '');
    if (!(authored >= since - 1000)) continue;
    const patient = stringField(t, 'for', 'reference')?.replace(/^Patient\//, '');
    if (patient === undefined) continue;
    callbacks++;
    if (!patients.has(patient)) callbacksOutsideScope++;
    else perPatient.set(patient, (perPatient.get(patient) ?? 0) + 1);
  }
  const counts = [...patients].map((p) => perPatient.get(p) ?? 0);
  return {
    appointments: targets.size,
    changedOnce,
    duplicates,
    alreadyAsWanted,
    unchanged,
    outsideScope,
    patients: patients.size,
    callbacks,
    patientsWithOneCallback: counts.filter((n) => n === 1).length,
    patientsWithoutCallback: counts.filter((n) => n === 0).length,
    patientsWithSeveralCallbacks: counts.filter((n) => n > 1).length,
    callbacksOutsideScope,
    unchecked,
  };
}

/**
 * The closure's share of the drill's verdict: nothing changed twice, nothing outside, nothing
 * missed. `excused`: what its own progress reports as failed or cancelled (a visit the EHR refused,
 * a patient with no number on record) is missing for a stated reason, not lost.
 */
export function closureCheckPassed(
  check: ClosureCheck,
  excused: { readonly appointments: number; readonly callbacks: number },
): boolean {
  return (
    check.duplicates === 0 &&
    check.outsideScope === 0 &&
    check.unchanged <= excused.appointments &&
    check.patientsWithoutCallback <= excused.callbacks &&
    check.patientsWithSeveralCallbacks === 0 &&
    check.callbacksOutsideScope === 0
  );
}
