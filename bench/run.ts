/**
 * `npm run bench`: runs each benchmark phase against processes of its own (redis-server with AOF
 * everysec and noeviction, the sandbox EHR, the gateway's API and worker processes, on loopback,
 * stopped by PID), prints each one's figures, then a summary of every goal of bench/README.md it
 * measured with a verdict, and the diagnostics beside them. It reports and never gates: a missed
 * goal does not change the exit code.
 *
 * Phases, in this order (BENCH_ONLY=drain,overhead runs only those named):
 * - `classic`: against the sandbox answering in about a millisecond (classic-suite.ts): lookups and
 *   the cached lookup with the EHR down, authentication, write acceptance and its baselines, audit
 *   and limits on/off, Redis memory, the backlog drain against direct writes;
 * - `drain`: the backlog drained against the sandbox at capacity (16 at once, 40 ms);
 * - `urgency`: urgent bookings submitted during that drain (runs the drain);
 * - `overhead`: lookups and write acceptance through the gateway against the same requests sent
 *   straight to the sandbox at 40 ms.
 *
 * Every request to a gateway presents the key of a client registered in its client registry with
 * only the scopes its workload needs (bench-client.ts); nothing goes around access control.
 *
 * Bounded: fixed counts and deadlines everywhere (see bench/README.md, "Knobs"), and a watchdog
 * that stops every process after 20 minutes. BENCH_PORTS=19500-19599 keeps every port in a range.
 * BENCH_CPU_PROF_DIR makes the API and worker processes write V8 CPU profiles there (slower; for
 * finding where time goes, not for the figures): `node dist/bench/profile-summary.js <file>`.
 */
import { availableParallelism, loadavg } from 'node:os';
import { projectRoot } from '../src/project-root';
import { fmt, formatGoals, parsePortRange, type GoalRow } from './bench-support';
import { runClassicPhase } from './classic-suite';
import { runDrainPhase, runOverheadPhase, type SuiteOptions, type SuiteRows } from './ehr-capacity-suite';
import type { GatewayRig } from './gateway-rig';

const PHASES = ['classic', 'drain', 'urgency', 'overhead'] as const;
type Phase = (typeof PHASES)[number];

/** A positive integer from the environment, or the default. */
function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** BENCH_ONLY as a set of phases; every phase when unset. */
function selectedPhases(raw: string | undefined): ReadonlySet<Phase> {
  if (raw === undefined || raw.trim() === '') return new Set(PHASES);
  const names = raw.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(PHASES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new Error(`BENCH_ONLY: unknown phase ${unknown.join(', ')} (phases: ${PHASES.join(', ')})`);
  }
  return new Set(names as Phase[]);
}

async function main(): Promise<void> {
  const started = Date.now();
  const phases = selectedPhases(process.env.BENCH_ONLY);
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  const ports = parsePortRange(process.env.BENCH_PORTS);
  const live = new Set<GatewayRig>();
  const options: SuiteOptions = {
    root: projectRoot(),
    concurrency: envCount('BENCH_CONCURRENCY', 50),
    env: envCount,
    live,
    ...(ports !== undefined ? { ports } : {}),
    ...(profileDir !== undefined && profileDir !== '' ? { profileDir } : {}),
  };
  const stopAll = async (): Promise<void> => {
    for (const rig of [...live]) await rig.stop();
  };
  const interrupted = (): void => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  // Last resort if something hangs past every per-phase deadline: stop what we started.
  const watchdog = setTimeout(
    () => {
      console.error('benchmark watchdog: over 20 minutes, stopping');
      void stopAll().finally(() => process.exit(2));
    },
    20 * 60 * 1000,
  );

  console.log(
    `Continuum benchmarks (node ${process.version}); phases ${[...phases].join(', ')}; Redis with AOF everysec; sandbox, API and worker as separate processes`,
  );
  // Absolute figures move with what else the machine runs: say how busy it was when the run began.
  console.log(
    `  ${availableParallelism()} CPUs, load average ${loadavg()
      .map((l) => fmt(l, 2))
      .join(' ')} (1, 5, 15 min) at the start`,
  );
  if (options.profileDir !== undefined) {
    console.log(`  CPU profiles of the gateway processes go to ${options.profileDir}: figures are slowed`);
  }
  const results: SuiteRows[] = [];
  try {
    if (phases.has('classic')) results.push(await runClassicPhase(options));
    if (phases.has('drain') || phases.has('urgency')) {
      console.log('');
      results.push(await runDrainPhase(options, phases.has('urgency')));
    }
    if (phases.has('overhead')) {
      console.log('');
      results.push(await runOverheadPhase(options));
    }
  } finally {
    await stopAll();
    clearTimeout(watchdog);
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  const rows: GoalRow[] = [...results.flatMap((r) => r.goals), ...results.flatMap((r) => r.diagnostics)];
  console.log('\nsummary (ratios from this run; a miss is reported, it does not fail the run)');
  console.log(formatGoals(rows));
  console.log(
    `total elapsed ${fmt((Date.now() - started) / 1000, 0)} s; load average at the end ${loadavg()
      .map((l) => fmt(l, 2))
      .join(' ')}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
