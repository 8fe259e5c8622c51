/**
 * The benchmarks against an EHR that behaves like a real one (bench/ehr-capacity.config.yaml, the
 * sandbox in capacity mode at 40 ms), each on a rig of its own so that nothing of the other phases
 * (queued writes, the drain limit learned in Redis, the phone index, the breaker) carries over:
 *
 * - `drain` (and `urgency` inside it): capacity-drain.bench.ts, urgent-writes.bench.ts;
 * - `overhead`: ehr-latency-overhead.bench.ts.
 *
 * Each returns the summary rows of the goals it measures (bench/README.md) and its diagnostics.
 */
import { join } from 'node:path';
import { CLINIC_TIME_ZONE } from '../adapters/ehr/sandbox';
import type { Scope } from '../src/domain/access';
import { BENCH_SCOPES } from './bench-client';
import { fmt, type GoalRow, type PortRange } from './bench-support';
import { benchCapacityDrain, reportCapacityDrain, throttledShare } from './capacity-drain.bench';
import {
  benchEhrLatencyOverhead,
  reportEhrLatencyOverhead,
  type OverheadPair,
} from './ehr-latency-overhead.bench';
import { startGatewayRig, type GatewayRig } from './gateway-rig';
import type { CapacitySetting } from './sandbox-capacity';
import { setSandboxCapacity } from './sandbox-capacity';
import {
  freeSlotsWithin,
  reportUrgentWrites,
  submitUrgentWrites,
  summarize,
  type UrgentWritesResult,
} from './urgent-writes.bench';

export interface SuiteRows {
  readonly goals: GoalRow[];
  readonly diagnostics: GoalRow[];
}

export interface SuiteOptions {
  readonly root: string;
  readonly ports?: PortRange;
  readonly profileDir?: string;
  readonly concurrency: number;
  readonly env: (name: string, fallback: number) => number;
  /** The rigs running now, for the run to stop on an interrupt; each phase adds and removes its own. */
  readonly live: Set<GatewayRig>;
}

const CONNECTION = 'sandbox';
/** Slots and bookings for the urgent writes; the metrics say which way lookups were answered. */
const SCOPES: readonly Scope[] = [...BENCH_SCOPES, 'appointments:read', 'appointments:write', 'metrics:read'];
/** The EHR of the goals: 16 requests at once, 40 ms each. */
const EHR_CAPACITY: CapacitySetting = { concurrent: 16, latencyMs: 40 };
const OFFSET = { backlog: 10_000_000, idle: 11_000_000, urgent: 12_000_000, overhead: 13_000_000 } as const;

async function rig(
  options: SuiteOptions,
  sandboxArgs: string[],
  env: NodeJS.ProcessEnv,
): Promise<GatewayRig> {
  const started = await startGatewayRig({
    root: options.root,
    configFile: join(options.root, 'bench', 'ehr-capacity.config.yaml'),
    sandboxArgs,
    env,
    scopes: SCOPES,
    maxSockets: options.concurrency + 16,
    ...(options.ports !== undefined ? { ports: options.ports } : {}),
    ...(options.profileDir !== undefined ? { profileDir: options.profileDir } : {}),
  });
  options.live.add(started);
  return started;
}

async function stopRig(options: SuiteOptions, r: GatewayRig): Promise<void> {
  options.live.delete(r);
  await r.stop();
}

/** The drain at capacity and, when `urgency` is on, the urgent writes submitted during it. */
export async function runDrainPhase(options: SuiteOptions, urgency: boolean): Promise<SuiteRows> {
  const backlog = options.env('BENCH_CAPACITY_BACKLOG', 10000);
  const patients = options.env('BENCH_CAPACITY_PATIENTS', 2000);
  const urgentCount = urgency ? options.env('BENCH_URGENT_WRITES', 100) : 0;
  const deadlineMs = options.env('BENCH_CAPACITY_DEADLINE_S', 240) * 1000;
  const urgentDeadlineMs = 120_000;
  // Patients past the backlog's: a few for the idle load, then the bookings', then the routine writes'.
  const idlePatients = { first: patients + 1, count: 50 };
  const firstUrgentPatient = patients + idlePatients.count + 1;
  const r = await rig(options, ['--patients', String(firstUrgentPatient + 2 * urgentCount)], {});
  try {
    const now = Date.now();
    // Found before the drain, while the EHR answers at once; starting at least 2 h from now so
    // every booking is still ahead when it is written, and within 48 h so each is urgent.
    const slots = urgency
      ? await freeSlotsWithin({
          http: r.http,
          gatewayUrl: r.api.url,
          from: new Date(now + 2 * 3_600_000),
          to: new Date(now + 46 * 3_600_000),
          wanted: urgentCount,
          preferDate: new Intl.DateTimeFormat('en-CA', { timeZone: CLINIC_TIME_ZONE }).format(
            new Date(now + 24 * 3_600_000),
          ),
        })
      : [];
    const result = await benchCapacityDrain<UrgentWritesResult>({
      http: r.http,
      gatewayUrl: r.api.url,
      sandboxOrigin: r.sandboxOrigin,
      sandboxFhirUrl: r.sandboxFhirUrl,
      connection: CONNECTION,
      capacity: EHR_CAPACITY,
      backlog,
      patients,
      acceptConcurrency: options.concurrency,
      offsets: { backlog: OFFSET.backlog, idle: OFFSET.idle },
      idlePatients,
      startWorker: () => r.startGateway('worker'),
      pids: (worker) => ({
        worker: worker.child.pid,
        api: r.api.child.pid,
        sandbox: r.sandbox.child.pid,
        redis: r.redis.child.pid,
        'load generator': process.pid,
      }),
      acceptPids: { api: r.api.child.pid, sandbox: r.sandbox.child.pid, redis: r.redis.child.pid },
      deadlineMs,
      ...(slots.length > 0
        ? {
            during: {
              startAtShare: 0.25,
              run: (context) =>
                submitUrgentWrites({
                  http: r.http,
                  gatewayUrl: r.api.url,
                  slots,
                  firstPatient: firstUrgentPatient,
                  offset: OFFSET.urgent,
                  deadlineMs: urgentDeadlineMs,
                  context,
                }),
            },
          }
        : {}),
    });
    console.log(reportCapacityDrain(result));
    const goals: GoalRow[] = [];
    const diagnostics: GoalRow[] = [];
    const rateRatio = result.steadyRate / result.capacityRate;
    const idleP99 = result.idle.latencyMs.p99 ?? NaN;
    const drainP99 = result.window.latencyMs.p99 ?? NaN;
    const share = throttledShare(result);
    goals.push(
      {
        measure: 'drain rate at capacity / capacity limit',
        result: `${fmt(rateRatio)}x (${fmt(result.steadyRate, 0)} of ${fmt(result.capacityRate, 0)} writes/s)${result.timedOut ? ' (deadline)' : ''}`,
        goal: '>= 0.9x',
        met: !result.timedOut && rateRatio >= 0.9,
      },
      {
        measure: 'EHR p99 during the drain / idle p99',
        result: `${fmt(drainP99 / idleP99)}x (${fmt(drainP99, 1)} / ${fmt(idleP99, 1)} ms)`,
        goal: '<= 2x',
        met: drainP99 / idleP99 <= 2,
      },
      {
        measure: '429s during the drain',
        result: `${fmt(share * 100, 2)}% (${result.window.throttled})`,
        goal: '< 1%',
        met: share < 0.01,
      },
      {
        measure: 'drain pace found (0.9x steady rate)',
        result: `${result.secondsToSteady === undefined ? 'never' : `${fmt(result.secondsToSteady, 1)} s`} (0.9x capacity: ${result.secondsToCapacity === undefined ? 'never' : `${fmt(result.secondsToCapacity, 1)} s`})`,
        goal: '<= 30 s',
        met: result.secondsToSteady !== undefined && result.secondsToSteady <= 30,
      },
    );
    if (urgency) {
      const urgent = result.during;
      if (urgent === undefined) {
        console.log(`urgent writes: none submitted (${slots.length} free slots within 48 h)`);
        goals.push({
          measure: 'urgent bookings p99, to succeeded',
          result: 'n/a: no free slot',
          goal: '< 10 s',
          met: false,
        });
      } else {
        console.log(reportUrgentWrites(urgent, urgentDeadlineMs / 1000));
        const u = summarize(urgent.urgent, urgentDeadlineMs / 1000);
        const f = summarize(urgent.routine, urgentDeadlineMs / 1000);
        goals.push({
          measure: 'urgent bookings p99, acceptance to succeeded',
          result: `${fmt(u.p99, 2)} s (FIFO: routine p99 ${fmt(f.p99, 1)} s; ${u.succeeded}/${urgent.urgent.length} succeeded)`,
          goal: '< 10 s',
          met: u.succeeded === urgent.urgent.length && u.p99 < 10,
        });
      }
    }
    const workerCpu = result.cpu.worker;
    diagnostics.push({
      measure: '  worker busy during the drain at capacity',
      result:
        workerCpu === undefined
          ? 'n/a'
          : `${fmt((workerCpu / result.seconds) * 100, 0)}% of a core (${fmt((workerCpu * 1e6) / Math.max(1, result.drained), 0)} µs per write: one core allows ${fmt(result.drained / workerCpu, 0)}/s)`,
      goal: '(diagnostic)',
      met: undefined,
    });
    diagnostics.push({
      measure: '  CPU per write in the drain at capacity',
      result: Object.entries(result.cpu)
        .map(
          ([name, s]) =>
            `${name} ${s === undefined ? 'n/a' : fmt((s * 1e6) / Math.max(1, result.drained), 0)} µs`,
        )
        .join(', '),
      goal: '(diagnostic)',
      met: undefined,
    });
    return { goals, diagnostics };
  } finally {
    await stopRig(options, r);
  }
}

function overheadRows(p: OverheadPair, label: string): GoalRow[] {
  const p50 = p.gateway.p50 - p.direct.p50;
  const p99 = p.gateway.p99 - p.direct.p99;
  const clean = p.gateway.errors === 0 && p.direct.errors === 0;
  return [
    {
      measure: `${label}, gateway - direct, p50`,
      result: `+${fmt(p50, 1)} ms (${fmt(p.gateway.p50, 1)} vs ${fmt(p.direct.p50, 1)} ms)`,
      goal: '<= 3 ms',
      met: clean && p50 <= 3,
    },
    {
      measure: `${label}, gateway - direct, p99`,
      result: `+${fmt(p99, 1)} ms (${fmt(p.gateway.p99, 1)} vs ${fmt(p.direct.p99, 1)} ms)`,
      goal: '<= 10 ms',
      met: clean && p99 <= 10,
    },
  ];
}

/** Lookups and write acceptance through the gateway against the same requests sent straight, EHR at 40 ms. */
export async function runOverheadPhase(options: SuiteOptions): Promise<SuiteRows> {
  const patients = options.env('BENCH_OVERHEAD_PATIENTS', 500);
  const requests = options.env('BENCH_OVERHEAD_REQUESTS', 2000);
  // Every write asks the EHR about its patient, so acceptance is compared with that read.
  const r = await rig(options, ['--patients', String(Math.min(patients, 1000))], {
    BENCH_CONFIRMED_PATIENT_TTL_S: '0',
  });
  try {
    // Room for every request: the EHR answers in 40 ms and never queues.
    await setSandboxCapacity(r.http, r.sandboxOrigin, {
      concurrent: 1000,
      latencyMs: EHR_CAPACITY.latencyMs,
      queueDepth: 1000,
    });
    const result = await benchEhrLatencyOverhead({
      http: r.http,
      gatewayUrl: r.api.url,
      sandboxFhirUrl: r.sandboxFhirUrl,
      latencyMs: EHR_CAPACITY.latencyMs,
      concurrency: options.concurrency,
      requests,
      quiet: { concurrency: 4, numbers: 100, requests: 400 },
      writeOffset: OFFSET.overhead,
      gatewayPids: {
        api: r.api.child.pid,
        sandbox: r.sandbox.child.pid,
        redis: r.redis.child.pid,
        'load generator': process.pid,
      },
      directPids: { sandbox: r.sandbox.child.pid, 'load generator': process.pid },
    });
    console.log(reportEhrLatencyOverhead(result));
    const { loaded, quiet } = result;
    const hitRatio = loaded.hit.gateway.p50 / loaded.hit.direct.p50;
    const cpuPerRequest = (p: OverheadPair): string => {
      const api = p.gatewayCpu.api;
      return api === undefined ? 'n/a' : `${fmt((api * 1e6) / p.gateway.requests, 0)} µs`;
    };
    const added = (p: OverheadPair): string =>
      `+${fmt(p.gateway.p50 - p.direct.p50, 1)} / +${fmt(p.gateway.p99 - p.direct.p99, 1)} ms`;
    return {
      goals: [
        ...overheadRows(loaded.miss, 'lookup (index miss)'),
        ...overheadRows(loaded.acceptance, 'write acceptance'),
        {
          measure: 'lookup (index hit) p50 / direct read by id',
          result: `${fmt(hitRatio)}x (${fmt(loaded.hit.gateway.p50, 1)} vs ${fmt(loaded.hit.direct.p50, 1)} ms)`,
          goal: '<= 1.1x',
          met: loaded.hit.gateway.errors === 0 && hitRatio <= 1.1,
        },
      ],
      diagnostics: [
        {
          measure: `  added p50 / p99 at ${quiet.concurrency} clients: lookup miss; acceptance`,
          result: `${added(quiet.miss)}; ${added(quiet.acceptance)}`,
          goal: '(diagnostic: CPU not the limit)',
          met: undefined,
        },
        {
          measure: `  index-hit lookup p50 / read by id at ${quiet.concurrency} clients`,
          result: `${fmt(quiet.hit.gateway.p50 / quiet.hit.direct.p50)}x (${fmt(quiet.hit.gateway.p50, 1)} vs ${fmt(quiet.hit.direct.p50, 1)} ms)`,
          goal: '(diagnostic)',
          met: undefined,
        },
        {
          measure: '  API CPU per lookup (miss / hit) and per write accepted',
          result: `${cpuPerRequest(loaded.miss)} / ${cpuPerRequest(loaded.hit)}; ${cpuPerRequest(loaded.acceptance)}`,
          goal: '(diagnostic)',
          met: undefined,
        },
      ],
    };
  } finally {
    await stopRig(options, r);
  }
}
