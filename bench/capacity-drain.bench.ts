/**
 * The drain after an outage, against an EHR with a capacity of its own: the sandbox in capacity
 * mode (16 requests at once, 40 ms each; past a short queue it answers 429) and a backlog of
 * BENCH_CAPACITY_BACKLOG (10,000) demographic corrections over BENCH_CAPACITY_PATIENTS (2,000)
 * patients, accepted through the API while no worker runs. Then a worker starts, with no
 * `maxWritesPerSecond` and `queue.concurrency` as shipped, so nothing but the adaptive drain limit
 * decides how much it sends.
 *
 * The yardstick is what the EHR can take, by Little's law: `concurrent / time per write`, where
 * the time per write is the requests a write takes (counted by the sandbox over the drain, divided
 * by the writes drained) times the sandbox's latency. Against it: the drain rate once steady (the
 * writes drained between 20% and 80% of the backlog, over the time between); how long the limiter
 * took to reach 0.9x of that steady rate (from the worker being ready); the sandbox's own p99 (from
 * arrival to answer, its queue included) during the drain against its p99 under a light direct load
 * of the same requests just before; and the share of requests the sandbox answered 429.
 */
import { cpuMeter, fmt, formatCpu, type CpuUse, type HttpClient, type Proc } from './bench-support';
import { directSandboxWrites, type QueueCounts } from './backlog-drain.bench';
import {
  currentWindow,
  resetSandboxCapacity,
  sandboxCapacity,
  setSandboxCapacity,
  type CapacitySetting,
  type CapacityWindow,
} from './sandbox-capacity';
import { patchLoad, type MeasuredLoad, type Pids } from './write-acceptance.bench';
import { sandboxPatient } from './write-workload';

/** One look at the drain: writes still queued or sending, and the sandbox's counters. */
export interface DrainSample {
  /** Seconds since the worker was ready. */
  readonly t: number;
  readonly remaining: number;
  /** Writes finished so far (the backlog and any write added during the drain). */
  readonly drained: number;
  readonly served: number;
  readonly throttled: number;
  readonly inFlight: number;
  /** The adaptive drain limit then, and the permits in use (`/v1/status`); undefined when not shown. */
  readonly limit: number | undefined;
  readonly permits: number | undefined;
}

/** What may run while the backlog drains (the urgent writes); it is told how the drain stands. */
export interface DuringDrain<T> {
  /** Starts once this share of the backlog has drained (the limiter has found its pace by then). */
  readonly startAtShare: number;
  run(context: DrainContext): Promise<T>;
}

export interface DrainContext {
  /** The latest sample when the hook started. */
  readonly sample: DrainSample;
  /** Writes drained per second over the last few seconds. */
  readonly recentRate: number;
  /** Count every write the hook adds to the queue, so the drained figure stays true. */
  added(count: number): void;
}

export interface CapacityDrainResult<T> {
  readonly capacity: CapacitySetting;
  readonly acceptance: MeasuredLoad;
  readonly backlog: number;
  readonly patients: number;
  readonly idle: CapacityWindow;
  readonly window: CapacityWindow;
  readonly samples: readonly DrainSample[];
  /** Writes queued when the worker started: the backlog. */
  readonly pendingAtStart: number;
  readonly addedDuring: number;
  readonly drained: number;
  readonly seconds: number;
  readonly overallRate: number;
  readonly steadyRate: number;
  /** Seconds from the worker being ready until the drain first ran at 0.9x its steady rate. */
  readonly secondsToSteady: number | undefined;
  /** The same, to 0.9x the capacity limit; undefined if never. */
  readonly secondsToCapacity: number | undefined;
  readonly requestsPerWrite: number;
  readonly capacityRate: number;
  /** Mean requests the sandbox had in flight while the drain was steady. */
  readonly steadyInFlight: number;
  readonly final: { readonly failed: number; readonly needsReview: number };
  readonly cpu: CpuUse;
  readonly timedOut: boolean;
  readonly during: T | undefined;
}

const SAMPLE_MS = 500;

/** What the drain reads of one connection in `GET /v1/status`. */
interface ConnectionStatus {
  readonly queue: QueueCounts;
  readonly drain: {
    readonly limit?: { readonly limit: number; readonly inFlight: number } | null;
  };
}

async function connectionStatus(
  http: HttpClient,
  gatewayUrl: string,
  connection: string,
): Promise<ConnectionStatus> {
  const status = await http.json<{ connections: Record<string, ConnectionStatus | undefined> }>(
    'GET',
    `${gatewayUrl}/v1/status`,
  );
  const found = status.connections[connection];
  if (found === undefined) throw new Error(`GET /v1/status has no connection ${connection}`);
  return found;
}
/** The rate around a moment is taken over this many seconds of samples. */
const RATE_SPAN_S = 2;

/** The moment (by linear interpolation between samples) the drain had finished `drained` writes. */
function timeAt(samples: readonly DrainSample[], drained: number): number | undefined {
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    if (a === undefined || b === undefined || b.drained < drained) continue;
    if (b.drained === a.drained) return b.t;
    return a.t + ((drained - a.drained) / (b.drained - a.drained)) * (b.t - a.t);
  }
  return undefined;
}

/** The first moment from which the drain ran at `rate` or more for RATE_SPAN_S seconds. */
function firstTimeAtRate(samples: readonly DrainSample[], rate: number): number | undefined {
  for (let i = 0; i < samples.length; i++) {
    const from = samples[i];
    if (from === undefined) continue;
    const to = samples.find((s) => s.t >= from.t + RATE_SPAN_S);
    if (to === undefined) return undefined;
    if ((to.drained - from.drained) / (to.t - from.t) >= rate) return from.t;
  }
  return undefined;
}

function rateOver(samples: readonly DrainSample[], seconds: number): number {
  const last = samples[samples.length - 1];
  if (last === undefined) return 0;
  const from = [...samples].reverse().find((s) => s.t <= last.t - seconds) ?? samples[0];
  if (from === undefined || last.t === from.t) return 0;
  return (last.drained - from.drained) / (last.t - from.t);
}

export async function benchCapacityDrain<T>(options: {
  readonly http: HttpClient;
  readonly gatewayUrl: string;
  readonly sandboxOrigin: string;
  readonly sandboxFhirUrl: string;
  readonly connection: string;
  readonly capacity: CapacitySetting;
  readonly backlog: number;
  readonly patients: number;
  readonly acceptConcurrency: number;
  /** Offsets of the writes' bodies and Idempotency-Keys: the backlog's and the idle load's. */
  readonly offsets: { readonly backlog: number; readonly idle: number };
  /** Patients the idle load writes to, none of them in the backlog. */
  readonly idlePatients: { readonly first: number; readonly count: number };
  readonly startWorker: () => Promise<Proc>;
  readonly pids: (worker: Proc) => Pids;
  readonly acceptPids: Pids;
  readonly deadlineMs: number;
  readonly during?: DuringDrain<T>;
}): Promise<CapacityDrainResult<T>> {
  const { http, sandboxOrigin } = options;
  // 1. The backlog, accepted while no worker runs and the EHR answers at once (the outage's queue).
  const acceptance = await patchLoad({
    http,
    gatewayUrl: options.gatewayUrl,
    phase: 'capacity-backlog',
    offset: options.offsets.backlog,
    total: options.backlog,
    concurrency: options.acceptConcurrency,
    pids: options.acceptPids,
    patients: options.patients,
  });
  if (acceptance.load.errors > 0) {
    throw new Error(
      `${acceptance.load.errors} of ${options.backlog} backlog writes refused: ${acceptance.firstFailure ?? ''}`,
    );
  }

  // 2. The EHR's idle p99 at the same setting: the drain's requests (GET, PUT If-Match), two at a time.
  await setSandboxCapacity(http, sandboxOrigin, options.capacity);
  const { first, count } = options.idlePatients;
  const idleLoad = await directSandboxWrites({
    http,
    sandboxFhirUrl: options.sandboxFhirUrl,
    offset: options.offsets.idle,
    total: 200,
    concurrency: 2,
    pids: {},
    patient: (n) => sandboxPatient(first + (n % count)),
  });
  if (idleLoad.errors > 0) throw new Error(`idle load: ${idleLoad.firstFailure ?? 'errors'}`);
  const idle = (await resetSandboxCapacity(http, sandboxOrigin)).previous;
  if (idle === null) throw new Error('the sandbox kept no idle window');

  // 3. The worker starts; the drain is sampled until nothing is queued or sending.
  // The rig is this drain's own: what is queued is the backlog, and the window counts its requests.
  const pendingAtStart = options.backlog;
  const worker = await options.startWorker();
  try {
    const meter = cpuMeter(options.pids(worker));
    const t0 = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
    const firstCounts = (await connectionStatus(http, options.gatewayUrl, options.connection)).queue;
    let added = 0;
    const samples: DrainSample[] = [];
    let during: Promise<void> | undefined;
    // Set from the hook's promise; an object, so the loop reads what the callbacks wrote.
    const hookState: { settled: boolean; result: T | undefined; error: Error | undefined } = {
      settled: false,
      result: undefined,
      error: undefined,
    };
    let last = firstCounts;
    let timedOut = false;
    for (;;) {
      const [status, state] = await Promise.all([
        connectionStatus(http, options.gatewayUrl, options.connection),
        sandboxCapacity(http, sandboxOrigin),
      ]);
      const counts = status.queue;
      const window = state.window;
      if (window === null) throw new Error('the sandbox left capacity mode during the drain');
      last = counts;
      const remaining = counts.queued + counts.sending;
      const sample: DrainSample = {
        t: elapsed(),
        remaining,
        drained: pendingAtStart + added - remaining,
        served: window.served,
        throttled: window.throttled,
        inFlight: state.inFlight,
        limit: status.drain.limit?.limit,
        permits: status.drain.limit?.inFlight,
      };
      samples.push(sample);
      const hook = options.during;
      if (
        hook !== undefined &&
        during === undefined &&
        sample.drained >= hook.startAtShare * pendingAtStart
      ) {
        // Settles without rejecting: a failure is thrown once the drain is over and measured.
        during = hook
          .run({
            sample,
            recentRate: rateOver(samples, 3),
            added: (n) => {
              added += n;
            },
          })
          .then(
            (value) => {
              hookState.result = value;
            },
            (error: unknown) => {
              hookState.error = error instanceof Error ? error : new Error(String(error));
            },
          )
          .finally(() => {
            hookState.settled = true;
          });
      }
      if (remaining === 0 && (hook === undefined || hookState.settled)) break;
      if (elapsed() * 1000 > options.deadlineMs) {
        timedOut = true;
        break;
      }
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    const seconds = elapsed();
    const cpu = meter.stop();
    if (during !== undefined) await during;
    if (hookState.error !== undefined) throw hookState.error;
    // Every request of the drain is answered before the window is read: the worker is idle now.
    const window = await currentWindow(http, sandboxOrigin);
    const lastSample = samples[samples.length - 1];
    const drained = lastSample?.drained ?? 0;
    const total = pendingAtStart + added;
    const t20 = timeAt(samples, 0.2 * total);
    const t80 = timeAt(samples, 0.8 * total);
    const steadyRate =
      t20 !== undefined && t80 !== undefined && t80 > t20 ? (0.6 * total) / (t80 - t20) : drained / seconds;
    const steady = samples.filter((s) => t20 !== undefined && t80 !== undefined && s.t >= t20 && s.t <= t80);
    const requestsPerWrite = (window.served + window.throttled) / Math.max(1, drained);
    const capacityRate =
      options.capacity.concurrent / ((requestsPerWrite * options.capacity.latencyMs) / 1000);
    return {
      capacity: options.capacity,
      acceptance,
      backlog: options.backlog,
      patients: options.patients,
      idle,
      window,
      samples,
      pendingAtStart,
      addedDuring: added,
      drained,
      seconds,
      overallRate: drained / seconds,
      steadyRate,
      secondsToSteady: firstTimeAtRate(samples, 0.9 * steadyRate),
      secondsToCapacity: firstTimeAtRate(samples, 0.9 * capacityRate),
      requestsPerWrite,
      capacityRate,
      steadyInFlight:
        steady.length === 0 ? NaN : steady.reduce((sum, s) => sum + s.inFlight, 0) / steady.length,
      final: { failed: last.failed, needsReview: last.needsReview },
      cpu,
      timedOut,
      during: hookState.result,
    };
  } finally {
    await worker.stop();
  }
}

export function throttledShare(result: CapacityDrainResult<unknown>): number {
  const requests = result.window.served + result.window.throttled;
  return requests === 0 ? NaN : result.window.throttled / requests;
}

const TRACE_SECONDS = 40;

/** The drain rate second by second, as one line: how the limiter found its pace. */
function rateTrace(samples: readonly DrainSample[]): string {
  const perSecond: string[] = [];
  for (let second = 1; second <= TRACE_SECONDS; second++) {
    const at = samples.find((s) => s.t >= second);
    const before = samples.find((s) => s.t >= second - 1);
    if (at === undefined || before === undefined) break;
    perSecond.push(fmt((at.drained - before.drained) / (at.t - before.t), 0));
  }
  return perSecond.join(' ');
}

/** The drain limit and the permits in use, once a second: `limit/in use`. */
function limitTrace(samples: readonly DrainSample[]): string {
  const perSecond: string[] = [];
  for (let second = 0; second < TRACE_SECONDS; second++) {
    const at = samples.find((s) => s.t >= second);
    if (at === undefined) break;
    perSecond.push(`${at.limit ?? '?'}/${at.permits ?? '?'}`);
  }
  return perSecond.join(' ');
}

export function reportCapacityDrain(result: CapacityDrainResult<unknown>): string {
  const { capacity, window, idle } = result;
  const ms = (v: number | null): string => (v === null ? 'n/a' : `${fmt(v, 1)} ms`);
  const drained = Math.max(1, result.drained);
  return [
    `drain at the EHR's capacity: sandbox ${capacity.concurrent} at once, ${capacity.latencyMs} ms a request (429 past ${capacity.queueDepth ?? capacity.concurrent * 2} waiting); ${result.backlog} writes over ${result.patients} patients`,
    `  backlog accepted through the API (EHR up, no worker): ${fmt(result.acceptance.load.perSecond, 0)}/s, p99 ${fmt(result.acceptance.load.p99, 1)} ms`,
    `  drained ${result.drained} (${result.pendingAtStart} queued at start + ${result.addedDuring} added during) in ${fmt(result.seconds, 1)} s${result.timedOut ? '  DEADLINE PASSED' : ''}; failed ${result.final.failed}, needs-review ${result.final.needsReview}`,
    `  requests per write ${fmt(result.requestsPerWrite)} -> capacity limit ${capacity.concurrent} / (${fmt(result.requestsPerWrite)} x ${capacity.latencyMs} ms) = ${fmt(result.capacityRate, 0)} writes/s`,
    `  drain rate: steady (20%-80% of the backlog) ${fmt(result.steadyRate, 0)}/s = ${fmt(result.steadyRate / result.capacityRate)}x capacity; overall ${fmt(result.overallRate, 0)}/s`,
    `  0.9x of the steady rate reached after ${result.secondsToSteady === undefined ? 'never' : `${fmt(result.secondsToSteady, 1)} s`}; 0.9x of capacity after ${result.secondsToCapacity === undefined ? 'never' : `${fmt(result.secondsToCapacity, 1)} s`}`,
    `  writes/s, second by second from the worker ready: ${rateTrace(result.samples)}`,
    `  drain limit / permits in use, second by second  : ${limitTrace(result.samples)}`,
    `  sandbox in flight while steady: mean ${fmt(result.steadyInFlight, 1)} (most at once ${window.maxInFlight}, longest queue ${window.maxWaiting})`,
    `  sandbox latency (arrival to answer): idle p50 ${ms(idle.latencyMs.p50)} p99 ${ms(idle.latencyMs.p99)} (${idle.latencyMs.count} requests); drain p50 ${ms(window.latencyMs.p50)} p99 ${ms(window.latencyMs.p99)} max ${ms(window.latencyMs.max)}`,
    `  429s: ${window.throttled} of ${window.served + window.throttled} requests (${fmt(throttledShare(result) * 100, 2)}%)`,
    `  CPU per write: ${formatCpu(result.cpu, drained)}`,
  ].join('\n');
}
