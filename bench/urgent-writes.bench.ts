/**
 * Urgent writes behind a backlog: while the drain at capacity runs (capacity-drain.bench.ts), with
 * thousands of routine corrections still queued, BENCH_URGENT_WRITES (100) bookings of free slots
 * starting within 48 hours (`POST /v1/appointments`, slots from `GET /v1/slots`) are submitted, and
 * at the same moment as many routine corrections (`PATCH /v1/patients/:id`). Each goes to a patient
 * of its own with nothing else queued, so no lane holds it back: what delays it is only where the
 * drain serves it. Its time is from acceptance to `succeeded`, both from its receipt's history
 * (the gateway's clock), so how often the receipts are polled does not change it.
 *
 * The routine writes are the FIFO yardstick: what any write accepted at that moment waits when the
 * drain serves oldest first. Printed beside it: the backlog ahead at that moment over the drain rate.
 */
import { fmt, runCount, type HttpClient } from './bench-support';
import type { DrainContext } from './capacity-drain.bench';
import { sandboxPatient, writeBody } from './write-workload';

export interface FreeSlot {
  readonly id: string;
  readonly start: string;
}

/**
 * Free slots starting in [from, to), those on `preferDate` (the clinic's local date, as a slot's
 * start is written) first, at most `wanted`. Asked for in 4-hour windows: the API lists 100 at most.
 */
export async function freeSlotsWithin(options: {
  readonly http: HttpClient;
  readonly gatewayUrl: string;
  readonly from: Date;
  readonly to: Date;
  readonly wanted: number;
  readonly preferDate: string;
}): Promise<FreeSlot[]> {
  const found: FreeSlot[] = [];
  const step = 4 * 3_600_000;
  for (let t = options.from.getTime(); t < options.to.getTime(); t += step) {
    const end = Math.min(t + step, options.to.getTime());
    const list = await options.http.json<{ slots: { id: string; status: string; start?: string }[] }>(
      'GET',
      `${options.gatewayUrl}/v1/slots?from=${encodeURIComponent(new Date(t).toISOString())}&to=${encodeURIComponent(new Date(end).toISOString())}&limit=100`,
    );
    for (const slot of list.slots) {
      if (slot.status === 'free' && slot.start !== undefined) found.push({ id: slot.id, start: slot.start });
    }
  }
  const preferred = (slot: FreeSlot): number => (slot.start.startsWith(options.preferDate) ? 0 : 1);
  return found
    .map((slot, i) => ({ slot, i }))
    .sort((a, b) => preferred(a.slot) - preferred(b.slot) || a.i - b.i)
    .slice(0, options.wanted)
    .map(({ slot }) => slot);
}

interface ReceiptView {
  readonly operationId: string;
  readonly status: string;
  readonly urgency?: string;
  readonly history: readonly { readonly status: string; readonly at: string }[];
  readonly createdAt: string;
}

const FINAL = new Set(['succeeded', 'failed', 'needs-review', 'cancelled']);

export interface WriteTiming {
  readonly operationId: string;
  readonly status: string;
  /** From acceptance to `succeeded` (receipt history), in seconds; undefined unless it succeeded. */
  readonly seconds: number | undefined;
  readonly urgency: string | undefined;
}

export interface UrgentWritesResult {
  readonly slotsFound: number;
  readonly firstSlot: string | undefined;
  readonly lastSlot: string | undefined;
  readonly urgent: readonly WriteTiming[];
  readonly routine: readonly WriteTiming[];
  readonly refused: number;
  readonly firstRefusal: string | undefined;
  /** Writes queued or sending when these were submitted, and the drain rate then. */
  readonly backlogAhead: number;
  readonly rateAtSubmit: number;
  readonly timedOut: boolean;
}

function timing(receipt: ReceiptView): WriteTiming {
  const succeeded = receipt.history.find((h) => h.status === 'succeeded');
  const accepted = receipt.history[0]?.at ?? receipt.createdAt;
  return {
    operationId: receipt.operationId,
    status: receipt.status,
    seconds: succeeded === undefined ? undefined : (Date.parse(succeeded.at) - Date.parse(accepted)) / 1000,
    urgency: receipt.urgency,
  };
}

/**
 * Submits the bookings and the routine corrections together, then polls their receipts (each at
 * most once a second, a few at a time, so the polling is light beside the drain) until all are
 * final or the deadline passes.
 */
export async function submitUrgentWrites(options: {
  readonly http: HttpClient;
  readonly gatewayUrl: string;
  readonly slots: readonly FreeSlot[];
  /** The first of 2 x slots patients with nothing else queued: bookings first, then corrections. */
  readonly firstPatient: number;
  readonly offset: number;
  readonly deadlineMs: number;
  readonly context: DrainContext;
}): Promise<UrgentWritesResult> {
  const { http, gatewayUrl, slots } = options;
  const count = slots.length;
  let refused = 0;
  let firstRefusal: string | undefined;
  const urgentIds: string[] = [];
  const routineIds: string[] = [];
  // Interleaved, so neither kind is accepted ahead of the other.
  await runCount(20, 2 * count, async (i) => {
    const k = Math.floor(i / 2);
    const booking = i % 2 === 0;
    const slot = slots[k];
    if (slot === undefined) return;
    const answer = booking
      ? await http.request(
          'POST',
          `${gatewayUrl}/v1/appointments`,
          JSON.stringify({ patientId: sandboxPatient(options.firstPatient + k), slotId: slot.id }),
          { 'idempotency-key': `bench-urgent-${options.offset + k}` },
        )
      : await http.request(
          'PATCH',
          `${gatewayUrl}/v1/patients/${sandboxPatient(options.firstPatient + count + k)}`,
          writeBody(options.offset + k),
          { 'idempotency-key': `bench-routine-${options.offset + k}` },
        );
    if (answer.status !== 202 && answer.status !== 200 && answer.status !== 201) {
      refused++;
      firstRefusal ??= `HTTP ${answer.status} ${answer.body.slice(0, 200)}`;
      return;
    }
    options.context.added(1);
    const id = (JSON.parse(answer.body) as { operationId: string }).operationId;
    (booking ? urgentIds : routineIds).push(id);
  });

  const done = new Map<string, ReceiptView>();
  const deadline = Date.now() + options.deadlineMs;
  const all = [...urgentIds, ...routineIds];
  let timedOut = false;
  for (;;) {
    const open = all.filter((id) => !done.has(id));
    if (open.length === 0) break;
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
    const round = Date.now();
    await runCount(4, open.length, async (i) => {
      const id = open[i];
      if (id === undefined) return;
      const receipt = await http.json<ReceiptView>('GET', `${gatewayUrl}/v1/operations/${id}`);
      if (FINAL.has(receipt.status)) done.set(id, receipt);
    });
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - round))));
  }
  const timings = (ids: readonly string[]): WriteTiming[] =>
    ids.map((id) => {
      const receipt = done.get(id);
      return receipt === undefined
        ? { operationId: id, status: 'unfinished', seconds: undefined, urgency: undefined }
        : timing(receipt);
    });
  return {
    slotsFound: count,
    firstSlot: slots[0]?.start,
    lastSlot: slots[slots.length - 1]?.start,
    urgent: timings(urgentIds),
    routine: timings(routineIds),
    refused,
    firstRefusal,
    backlogAhead: options.context.sample.remaining,
    rateAtSubmit: options.context.recentRate,
    timedOut,
  };
}

export interface TimeSummary {
  readonly succeeded: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly markedUrgent: number;
}

/** Nearest-rank percentiles of the succeeded writes' times; a write that did not succeed counts as the deadline. */
export function summarize(timings: readonly WriteTiming[], deadlineSeconds: number): TimeSummary {
  const seconds = timings.map((t) => t.seconds ?? deadlineSeconds).sort((a, b) => a - b);
  const at = (p: number): number => seconds[Math.max(0, Math.ceil(p * seconds.length) - 1)] ?? NaN;
  return {
    succeeded: timings.filter((t) => t.status === 'succeeded').length,
    p50: at(0.5),
    p99: at(0.99),
    max: seconds[seconds.length - 1] ?? NaN,
    markedUrgent: timings.filter((t) => t.urgency === 'urgent').length,
  };
}

export function reportUrgentWrites(result: UrgentWritesResult, deadlineSeconds: number): string {
  const urgent = summarize(result.urgent, deadlineSeconds);
  const routine = summarize(result.routine, deadlineSeconds);
  const fifoEstimate = result.rateAtSubmit > 0 ? result.backlogAhead / result.rateAtSubmit : NaN;
  const marked = (s: TimeSummary, n: number): string =>
    result.urgent.some((t) => t.urgency !== undefined)
      ? `, receipts marked urgent ${s.markedUrgent}/${n}`
      : '';
  return [
    `urgent writes during the drain: ${result.slotsFound} bookings of free slots within 48 h (tomorrow's first; ${result.firstSlot ?? 'n/a'} .. ${result.lastSlot ?? 'n/a'}), with as many routine corrections submitted at the same moment`,
    `  backlog at submission ${result.backlogAhead} writes, draining at ${fmt(result.rateAtSubmit, 0)}/s: ${fmt(fifoEstimate, 1)} s to drain it all (a write of a patient with nothing queued waits only behind the other lanes' next writes: the routine figure below)`,
    `  bookings, acceptance to succeeded : p50 ${fmt(urgent.p50, 2)} s  p99 ${fmt(urgent.p99, 2)} s  max ${fmt(urgent.max, 2)} s  (succeeded ${urgent.succeeded}/${result.urgent.length}${marked(urgent, result.urgent.length)})`,
    `  routine corrections (FIFO)        : p50 ${fmt(routine.p50, 2)} s  p99 ${fmt(routine.p99, 2)} s  max ${fmt(routine.max, 2)} s  (succeeded ${routine.succeeded}/${result.routine.length}${marked(routine, result.routine.length)})`,
    ...(result.refused > 0
      ? [`  refused at submission: ${result.refused}, first: ${result.firstRefusal ?? ''}`]
      : []),
    ...(result.timedOut ? ['  DEADLINE PASSED: unfinished writes count as the deadline'] : []),
  ].join('\n');
}
