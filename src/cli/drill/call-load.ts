/**
 * Synthetic call-center load at a set rate with bounded concurrency: screen pops by phone,
 * identity checks, summaries, slot searches, bookings, demographic corrections and callbacks, in
 * the mix a contact center sees. Each call is recorded with its phase, status and latency; each
 * accepted write with what the EHR must show for it afterwards.
 */
import { stringField, type DrillHttp } from './drill-http';
import type { CallKind, CallRecord } from './drill-records';
import type { DrillSeed, SeedPatient } from './drill-seed';
import { phaseAt, type Phase } from './scenarios';

/** What the EHR must hold once a write is applied, to check it landed exactly once. */
export type ExpectedWrite =
  | { readonly operationId: string; readonly check: 'created'; readonly resourceType: 'Appointment' | 'Task' }
  | {
      readonly operationId: string;
      readonly check: 'updated';
      readonly patientId: string;
      /** The email the correction set: its first appearance in the patient's history is the change. */
      readonly email: string;
    };

const MIX: readonly (readonly [CallKind, number])[] = [
  ['lookup', 30],
  ['verify', 15],
  ['summary', 20],
  ['slots', 10],
  ['book', 8],
  ['correct-demographics', 7],
  ['callback', 10],
];
const MIX_TOTAL = MIX.reduce((sum, [, weight]) => sum + weight, 0);

/** A small seeded generator, so two drills with the same seed make the same calls. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pickKind(random: () => number): CallKind {
  let roll = random() * MIX_TOTAL;
  for (const [kind, weight] of MIX) {
    roll -= weight;
    if (roll < 0) return kind;
  }
  return 'lookup';
}

export interface LoadOptions {
  readonly http: DrillHttp;
  readonly seed: DrillSeed;
  readonly phases: readonly Phase[];
  /** Base calls per second; each phase multiplies it by its load factor. */
  readonly rate: number;
  readonly maxInFlight: number;
  readonly runId: string;
  /** Milliseconds since the drill started. */
  readonly elapsed: () => number;
  readonly random: () => number;
  /** Resolves after `ms`, or sooner when the drill is stopped. */
  readonly pause: (ms: number) => Promise<void>;
}

export interface LoadResult {
  readonly records: CallRecord[];
  readonly expected: ExpectedWrite[];
  /** Calls not sent because `maxInFlight` calls were still waiting for answers. */
  readonly skipped: number;
}

export async function runCallLoad(options: LoadOptions): Promise<LoadResult> {
  const { phases, http, seed, random } = options;
  const end = phases[phases.length - 1]?.endMs ?? 0;
  const records: CallRecord[] = [];
  const expected: ExpectedWrite[] = [];
  const inFlight = new Set<Promise<void>>();
  const slots = [...seed.slotIds];
  const corrected = new Set<string>();
  let skipped = 0;
  let sequence = 0;
  let nextAt = 0;
  for (;;) {
    const now = options.elapsed();
    if (now >= end) break;
    if (now < nextAt) {
      await options.pause(Math.min(nextAt - now, end - now));
      continue;
    }
    const phase = phaseAt(phases, now);
    nextAt += 1000 / (options.rate * phase.loadFactor);
    // A drill that fell behind (a paused process) does not fire the missed calls all at once.
    if (nextAt < now - 1000) nextAt = now;
    if (inFlight.size >= options.maxInFlight) {
      skipped++;
      continue;
    }
    const n = ++sequence;
    const patient = seed.patients[Math.floor(random() * seed.patients.length)];
    if (patient === undefined) break;
    const call = makeCall(pickKind(random), patient, n, { slots, corrected, runId: options.runId });
    const atMs = now;
    const done = call(http).then(({ kind, res, write }) => {
      const operationId =
        res.status >= 200 && res.status < 300 ? stringField(res.body, 'operationId') : undefined;
      records.push({
        atMs,
        phase: phase.name,
        kind,
        status: res.status,
        latencyMs: Math.round(res.latencyMs * 10) / 10,
        source: stringField(res.body, 'freshness', 'source'),
        code: res.status >= 400 ? stringField(res.body, 'code') : undefined,
        operationId,
      });
      if (operationId !== undefined && write !== undefined) expected.push(write(operationId));
    });
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  }
  await Promise.all(inFlight);
  return { records, expected, skipped };
}

interface CallState {
  readonly slots: string[];
  readonly corrected: Set<string>;
  readonly runId: string;
}

type Call = (http: DrillHttp) => Promise<{
  kind: CallKind;
  res: Awaited<ReturnType<DrillHttp['request']>>;
  write?: (operationId: string) => ExpectedWrite;
}>;

function makeCall(kind: CallKind, patient: SeedPatient, n: number, state: CallState): Call {
  const idempotency = { 'idempotency-key': `drill-${state.runId}-${n}` };
  switch (kind) {
    case 'lookup':
      if (patient.phone === undefined) return makeCall('summary', patient, n, state);
      return async (http) => ({
        kind,
        res: await http.request(
          'GET',
          `/v1/patients/lookup?phone=${encodeURIComponent(patient.phone ?? '')}`,
        ),
      });
    case 'verify':
      if (patient.birthDate === undefined || patient.family === undefined) {
        return makeCall('summary', patient, n, state);
      }
      return async (http) => ({
        kind,
        res: await http.request('POST', '/v1/patients/verify', {
          body: { birthDate: patient.birthDate, family: patient.family, patientId: patient.id },
        }),
      });
    case 'summary':
      return async (http) => ({
        kind,
        res: await http.request('GET', `/v1/patients/${encodeURIComponent(patient.id)}/summary`),
      });
    case 'slots': {
      const from = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      const to = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
      return async (http) => ({ kind, res: await http.request('GET', `/v1/slots?from=${from}&to=${to}`) });
    }
    case 'book': {
      // Each slot is offered once: two drill callers racing for one slot would test the EHR, not the gateway.
      const slotId = state.slots.shift();
      if (slotId === undefined) return makeCall('slots', patient, n, state);
      return async (http) => ({
        kind,
        res: await http.request('POST', '/v1/appointments', {
          body: { patientId: patient.id, slotId, mode: 'video', reason: 'Drill booking' },
          headers: idempotency,
        }),
        write: (operationId) => ({ operationId, check: 'created', resourceType: 'Appointment' }),
      });
    }
    case 'correct-demographics': {
      // One correction per patient: two queued corrections of one field would be a review, not a drill figure.
      if (state.corrected.has(patient.id)) return makeCall('summary', patient, n, state);
      state.corrected.add(patient.id);
      const email = `drill-${state.runId}-${n}@example.org`;
      return async (http) => ({
        kind,
        res: await http.request('PATCH', `/v1/patients/${encodeURIComponent(patient.id)}`, {
          body: { email },
          headers: idempotency,
        }),
        write: (operationId) => ({ operationId, check: 'updated', patientId: patient.id, email }),
      });
    }
    case 'callback':
      if (patient.phone === undefined) return makeCall('summary', patient, n, state);
      return async (http) => ({
        kind,
        res: await http.request('POST', '/v1/callbacks', {
          body: {
            patientId: patient.id,
            phone: patient.phone,
            priority: 'routine',
            reason: 'Drill callback',
          },
          headers: idempotency,
        }),
        write: (operationId) => ({ operationId, check: 'created', resourceType: 'Task' }),
      });
  }
}

/** Exposed for the report: how the mix is weighted. */
export const CALL_MIX: Readonly<Record<string, number>> = Object.fromEntries(
  MIX.map(([kind, weight]) => [kind, Math.round((weight / MIX_TOTAL) * 1000) / 1000]),
);
