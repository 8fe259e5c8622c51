/**
 * One drill, start to finish: read the seed, walk the scenario's phases while the synthetic load
 * runs and the backlog is sampled, put the EHR back, wait for the drain, then check every accepted
 * write against the EHR's own history and gather the report's figures.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { backlogFigures, firstEmptyAfter, phaseFigures, timeBuckets } from './drill-aggregate';
import { startBacklogSampler } from './backlog-sampler';
import { CALL_MIX, runCallLoad, seededRandom } from './call-load';
import { createDrillHttp, field, type DrillHttp } from './drill-http';
import type { DrillReport, EventFigures } from './drill-report';
import { readDrillSeed } from './drill-seed';
import { checkClosureInEhr, closureCheckPassed } from './closure-check';
import { planClosure } from './closure-plan';
import { createStager, FINAL_CLOSURE_STATUSES, probeStaging, type Stager } from './drill-staging';
import type { EventReceiver } from './event-receiver';
import { verifyAgainstEhr, type WriteOutcome } from './history-check';
import type { BacklogSample, CallRecord } from './drill-records';
import { compressTimeline, SCENARIO_PHASES, type Phase, type ScenarioName } from './scenarios';

export interface RunDrillOptions {
  /**
   * Hands the caller a way to end what the drill staged (faults, revoked credentials) at once,
   * for a drill stopped by a signal before its own clean-up runs.
   */
  readonly onStaged?: (restore: () => Promise<void>) => void;
  readonly scenario: ScenarioName;
  readonly durationMs: number;
  readonly wallMs: number;
  readonly compress: number;
  readonly rate: number;
  readonly target: { readonly url: string; readonly key: string; readonly kind: 'in-process' | 'remote' };
  readonly receiver: EventReceiver | undefined;
  /** How long to wait for the backlog to drain after the timeline (default: the timeline's length, 90 s at least). */
  readonly drainTimeoutMs?: number;
  readonly maxInFlight?: number;
  readonly seed?: number;
  /** Progress lines for the person running the drill. */
  readonly say: (line: string) => void;
}

const BUCKETS = 60;

export async function runDrill(options: RunDrillOptions): Promise<DrillReport> {
  const http = createDrillHttp(options.target.url, options.target.key);
  const phases = compressTimeline(SCENARIO_PHASES[options.scenario], options.wallMs);
  const runId = randomBytes(4).toString('hex');
  const startedAt = new Date();
  const seed = await readDrillSeed(http, startedAt);
  const ability = await probeStaging(http, phases);
  for (const [stage, reason] of Object.entries(ability.unavailable)) {
    options.say(`cannot stage ${stage}: ${reason}; that phase runs the load only`);
  }
  const eventsBefore = await subscriberFigures(http);

  const origin = performance.now();
  const elapsed = () => performance.now() - origin;
  const closes = phases.some((p) => p.stage === 'site-closure') && !ability.unavailable['site-closure'];
  const closurePlan = closes ? await planClosure(http, startedAt) : undefined;
  if (closurePlan !== undefined) {
    options.say(
      'plan' in closurePlan
        ? `closing ${closurePlan.plan.location} from ${closurePlan.plan.from.toISOString()} to ${closurePlan.plan.to.toISOString()}: ${closurePlan.plan.planned} booked visits there`
        : `no closure can be staged: ${closurePlan.note}`,
    );
  }
  const stager = createStager(http, ability, closurePlan);
  options.onStaged?.(() => stager.restore(elapsed()));
  // Pauses end early once the timeline is over, so nothing outlives the drill.
  const timeline = new AbortController();
  const pause = (ms: number) =>
    sleep(Math.max(0, ms), undefined, { signal: timeline.signal }).catch(() => undefined);
  const sampler = startBacklogSampler(http, elapsed, Math.max(250, Math.min(2_000, options.wallMs / 120)));
  const closurePolling = pollClosure(stager, elapsed, Math.max(500, Math.min(5_000, options.wallMs / 60)));

  // The phases change on their own clock while the load runs.
  const staging = (async () => {
    for (const phase of phases) {
      const wait = phase.startMs - elapsed();
      if (wait > 0) await pause(wait);
      options.say(`${(elapsed() / 1000).toFixed(1)}s  phase ${phase.name}: ${phase.label}`);
      await stager.enter(phase, elapsed());
    }
  })();
  let load;
  try {
    load = await runCallLoad({
      http,
      seed,
      phases,
      rate: options.rate,
      maxInFlight: options.maxInFlight ?? 32,
      runId,
      elapsed,
      random: seededRandom(options.seed ?? 20261203),
      pause,
    });
    await staging;
  } finally {
    timeline.abort();
    await staging.catch(() => undefined);
    await stager.restore(elapsed());
  }
  const timelineEndMs = elapsed();
  options.say(`${(timelineEndMs / 1000).toFixed(1)}s  timeline over; waiting for the write backlog to drain`);

  const drainBound = options.drainTimeoutMs ?? Math.max(90_000, options.wallMs);
  let drainedAtMs: number | null = null;
  while (elapsed() - timelineEndMs < drainBound) {
    const sample = await sampler.sampleNow();
    // A closure still finding its visits has queued nothing yet: an empty backlog is not the end.
    const closureStatus = await closurePolling.latest();
    const closureSettled = closureStatus === undefined || FINAL_CLOSURE_STATUSES.has(closureStatus);
    if (sample !== undefined && sample.backlog === 0 && closureSettled) {
      drainedAtMs = sample.atMs;
      break;
    }
    await sleep(500);
  }
  await sampler.stop();
  await closurePolling.stop();
  options.say(
    drainedAtMs === null
      ? `the backlog had not drained after ${Math.round(drainBound / 1000)}s; checking what landed`
      : `${(drainedAtMs / 1000).toFixed(1)}s  backlog drained; checking every accepted write against the EHR's history`,
  );

  const { verdict, outcomes } = await verifyAgainstEhr(http, load.expected);
  const resourceOf = new Map(
    load.expected.map((w) => [w.operationId, w.check === 'created' ? w.resourceType : 'Patient']),
  );
  const events = await eventFigures(
    http,
    options.receiver,
    load.expected.map((w) => w.operationId),
    eventsBefore,
    verdict,
  );
  const closure = await closureFigures(
    stager,
    http,
    load.expected.map((w) => w.operationId),
  );
  const finishedAt = new Date();
  const backlog = backlogFigures(sampler.samples);
  const lastStage = phases.filter((p) => p.stage !== 'none').at(-1);

  return {
    drill: {
      scenario: options.scenario,
      runId,
      target:
        options.target.kind === 'in-process' ? 'in-process gateway (embedded defaults)' : options.target.url,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: options.durationMs,
      compress: options.compress,
      wallMs: options.wallMs,
      baseRate: options.rate,
      callMix: CALL_MIX,
      seedPatients: seed.patients.length,
    },
    phases: phases.map((p) => ({
      ...p,
      staged: p.stage === 'none' || ability.unavailable[p.stage] === undefined,
    })),
    notStaged: ability.unavailable,
    staging: stager.actions,
    calls: {
      total: load.records.length,
      skippedAtConcurrencyBound: load.skipped,
      byPhase: phaseFigures(phases, load.records),
      overTime: timeBuckets(load.records, options.wallMs, BUCKETS),
      records: [...load.records].sort((a, b) => a.atMs - b.atMs),
    },
    backlog: {
      samples: sampler.samples,
      peak: backlog.peak,
      peakAtMs: backlog.peakAtMs,
      // From the end of the last staged trouble to the first empty backlog after it.
      timeToDrainMs: drainTime(sampler.samples, lastStage?.endMs ?? timelineEndMs, drainedAtMs),
      drained: drainedAtMs !== null,
      timelineEndMs: Math.round(timelineEndMs),
      ...troubleWrites(phases, load.records, outcomes),
    },
    writes: verdict,
    writeOutcomes: outcomes.map((o) => ({ ...o, resource: resourceOf.get(o.operationId) ?? 'unknown' })),
    events,
    closure,
  };
}

/** The closure's progress, read on its own clock from its submission to the end of the drain. */
function pollClosure(
  stager: Stager,
  elapsed: () => number,
  everyMs: number,
): { latest(): Promise<string | undefined>; stop(): Promise<void> } {
  const stopped = new AbortController();
  let last: string | undefined;
  const loop = (async () => {
    while (!stopped.signal.aborted) {
      last = (await stager.pollClosure(elapsed())) ?? last;
      await sleep(everyMs, undefined, { signal: stopped.signal }).catch(() => undefined);
    }
  })();
  return {
    async latest() {
      last = (await stager.pollClosure(elapsed())) ?? last;
      return last;
    },
    async stop() {
      stopped.abort();
      await loop;
    },
  };
}

/** The closure's figures with what the EHR itself shows joined to them. */
async function closureFigures(stager: Stager, http: DrillHttp, loadOperationIds: readonly string[]) {
  const figures = stager.closure();
  const scope = stager.closureScope();
  if (figures === undefined || scope === undefined) return figures;
  const check = await checkClosureInEhr(http, { ...scope, loadOperationIds: new Set(loadOperationIds) });
  const count = (group: string, key: string) => {
    const value = field(figures.progress, group, key);
    return typeof value === 'number' ? value : 0;
  };
  const passed = closureCheckPassed(check, {
    appointments: count('appointments', 'failed') + count('appointments', 'cancelled'),
    callbacks: count('callbacks', 'failed') + count('callbacks', 'cancelled'),
  });
  stager.setClosure({ ...figures, check, passed });
  return stager.closure();
}

async function subscriberFigures(
  http: DrillHttp,
): Promise<Record<string, { waiting: number; deadLetters: number }>> {
  const res = await http.request('GET', '/v1/events/subscribers');
  const list = field(res.body, 'subscribers');
  const out: Record<string, { waiting: number; deadLetters: number }> = {};
  if (!Array.isArray(list)) return out;
  for (const s of list) {
    const name = field(s, 'name');
    const waiting = field(s, 'waiting');
    const deadLetters = field(s, 'deadLetters');
    if (typeof name === 'string') {
      out[name] = {
        waiting: typeof waiting === 'number' ? waiting : 0,
        deadLetters: typeof deadLetters === 'number' ? deadLetters : 0,
      };
    }
  }
  return out;
}

async function eventFigures(
  http: DrillHttp,
  receiver: EventReceiver | undefined,
  operationIds: readonly string[],
  before: Record<string, { waiting: number; deadLetters: number }>,
  verdict: { succeeded: number; failed: number; needsReview: number },
): Promise<EventFigures> {
  const expected = verdict.succeeded + verdict.failed + verdict.needsReview;
  if (receiver === undefined) {
    const after = await subscriberFigures(http);
    return {
      source: 'subscriber metrics',
      expectedOperationEvents: expected,
      deliveredOperationEvents: null,
      byType: {},
      subscribers: Object.fromEntries(
        Object.entries(after).map(([name, f]) => [
          name,
          { ...f, newDeadLetters: f.deadLetters - (before[name]?.deadLetters ?? 0) },
        ]),
      ),
      badSignatures: 0,
    };
  }
  // Delivery runs on its own queue: give it a moment past the drain to catch up.
  const deadline = Date.now() + 15_000;
  const mine = () => operationIds.filter((id) => receiver.operations.has(id)).length;
  while (mine() < expected && Date.now() < deadline) await sleep(250);
  return {
    source: 'drill subscriber on loopback',
    expectedOperationEvents: expected,
    deliveredOperationEvents: mine(),
    byType: receiver.byType(),
    subscribers: await subscriberFigures(http).then((after) =>
      Object.fromEntries(
        Object.entries(after).map(([name, f]) => [name, { ...f, newDeadLetters: f.deadLetters }]),
      ),
    ),
    badSignatures: receiver.deliveries().badSignature,
  };
}

/** Writes accepted while trouble was staged, and how many of them reached the EHR afterwards. */
function troubleWrites(
  phases: readonly Phase[],
  records: readonly CallRecord[],
  outcomes: readonly WriteOutcome[],
): { acceptedDuringTrouble: number; drainedAfterTrouble: number } {
  const troubled = new Set(phases.filter((p) => p.stage !== 'none').map((p) => p.name));
  const ids = new Set(
    records.filter((r) => r.operationId !== undefined && troubled.has(r.phase)).map((r) => r.operationId),
  );
  return {
    acceptedDuringTrouble: ids.size,
    drainedAfterTrouble: outcomes.filter(
      (o) => ids.has(o.operationId) && o.status === 'succeeded' && o.inEhr === 1,
    ).length,
  };
}

/** Null when it never drained; else from the trouble's end to the first empty sample after it. */
function drainTime(
  samples: readonly BacklogSample[],
  troubleEndMs: number,
  drainedAtMs: number | null,
): number | null {
  if (drainedAtMs === null) return null;
  const emptyAt = firstEmptyAfter(samples, troubleEndMs) ?? drainedAtMs;
  return Math.max(0, emptyAt - troubleEndMs);
}
