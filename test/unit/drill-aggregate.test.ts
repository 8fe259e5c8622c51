/** The drill report's arithmetic: percentiles per phase, figures over time, the backlog's peak and drain. */
import {
  backlogFigures,
  firstEmptyAfter,
  percentile,
  phaseFigures,
  timeBuckets,
} from '../../src/cli/drill/drill-aggregate';
import type { CallRecord } from '../../src/cli/drill/drill-records';
import { judge } from '../../src/cli/drill/history-check';
import { renderDrillHtml } from '../../src/cli/drill/report-html';
import type { DrillReport } from '../../src/cli/drill/drill-report';
import { compressTimeline, SCENARIO_PHASES } from '../../src/cli/drill/scenarios';
import { lineChart, niceStep } from '../../src/cli/drill/svg-chart';

const call = (
  atMs: number,
  phase: string,
  latencyMs: number,
  extra: Partial<CallRecord> = {},
): CallRecord => ({
  atMs,
  phase,
  kind: 'summary',
  status: 200,
  latencyMs,
  source: undefined,
  code: undefined,
  operationId: undefined,
  ...extra,
});

describe('percentile', () => {
  it('is the nearest rank of the sorted values', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([3, 1, 2], 50)).toBe(2);
  });

  it('is null when there is nothing to rank', () => {
    expect(percentile([], 50)).toBeNull();
  });
});

describe('phaseFigures', () => {
  const phases = compressTimeline(SCENARIO_PHASES.outage, 10_000); // 0-2s, 2-6s, 6-10s

  it('computes each phase from its own calls only', () => {
    const records = [
      ...Array.from({ length: 20 }, (_, i) => call(i * 100, 'baseline', 10 + i, { source: 'ehr' })),
      ...Array.from({ length: 40 }, (_, i) =>
        call(2000 + i * 100, 'ehr-down', i < 30 ? 5 : 900, {
          source: i < 30 ? 'cache' : undefined,
          status: i < 30 ? 200 : 503,
        }),
      ),
      call(6500, 'recovery', 40, { kind: 'book', status: 202, operationId: 'op_1' }),
      call(6600, 'recovery', 60, { status: 409 }),
    ];
    const [baseline, down, recovery] = phaseFigures(phases, records);
    expect(baseline).toMatchObject({
      calls: 20,
      served: 20,
      errors: 0,
      callsPerSecond: 10,
      p50Ms: 19,
      p99Ms: 29,
    });
    expect(baseline?.cacheShare).toBe(0);
    expect(down).toMatchObject({
      calls: 40,
      served: 30,
      errors: 10,
      callsPerSecond: 10,
      p50Ms: 5,
      p99Ms: 900,
    });
    // Only the reads that said where they came from count towards the cache share.
    expect(down?.cacheShare).toBe(1);
    expect(recovery).toMatchObject({ calls: 2, served: 1, refused: 1, errors: 0, writesAccepted: 1 });
    expect(recovery?.cacheShare).toBeNull();
    // Why callers were turned away, by problem code.
    expect(down?.codes).toEqual({ HTTP_503: 10 });
    expect(recovery?.codes).toEqual({ HTTP_409: 1 });
    expect(baseline?.codes).toEqual({});
  });

  it('counts a call that got no answer as an error', () => {
    const [baseline] = phaseFigures(phases, [
      call(0, 'baseline', 15_000, { status: 0 }),
      call(1, 'baseline', 2_500, { status: 503, code: 'EHR_UNAVAILABLE' }),
    ]);
    expect(baseline).toMatchObject({ calls: 2, served: 0, errors: 2 });
    expect(baseline?.codes).toEqual({ NO_ANSWER: 1, EHR_UNAVAILABLE: 1 });
  });
});

describe('timeBuckets', () => {
  it('cuts the drill into equal spans by the time calls were sent', () => {
    const records = [
      call(0, 'baseline', 10),
      call(999, 'baseline', 30),
      call(1000, 'baseline', 50),
      call(4999, 'x', 70),
    ];
    const buckets = timeBuckets(records, 5_000, 5);
    expect(buckets.map((b) => b.calls)).toEqual([2, 1, 0, 0, 1]);
    expect(buckets[0]).toMatchObject({ startMs: 0, endMs: 1000, callsPerSecond: 2, p50Ms: 10, p99Ms: 30 });
    expect(buckets[2]).toMatchObject({ p50Ms: null, p99Ms: null, cacheShare: null });
  });

  it('puts a call sent after the last boundary (a late send) in the last span', () => {
    const buckets = timeBuckets([call(5_200, 'x', 1)], 5_000, 5);
    expect(buckets[4]?.calls).toBe(1);
  });
});

describe('backlogFigures', () => {
  it('finds the peak and the time from it to the first empty sample', () => {
    const samples = [0, 3, 9, 12, 7, 2, 0, 0].map((backlog, i) => ({
      atMs: i * 1000,
      backlog,
      breaker: 'closed',
      oldestPendingAgeSeconds: null,
    }));
    expect(backlogFigures(samples)).toEqual({ peak: 12, peakAtMs: 3000, drainMs: 3000 });
  });

  it('says the backlog never drained, and has nothing to drain when it stayed empty', () => {
    const rising = [1, 2, 3].map((backlog, i) => ({
      atMs: i,
      backlog,
      breaker: 'open',
      oldestPendingAgeSeconds: 1,
    }));
    expect(backlogFigures(rising).drainMs).toBeNull();
    expect(
      backlogFigures([{ atMs: 0, backlog: 0, breaker: 'closed', oldestPendingAgeSeconds: null }]),
    ).toEqual({
      peak: 0,
      peakAtMs: null,
      drainMs: 0,
    });
  });
});

describe('judge', () => {
  it('calls a write lost when it succeeded but is not in the EHR, late when not final, duplicated when there twice', () => {
    const kinds = new Map([
      ['op_a', 'Appointment'],
      ['op_b', 'Appointment'],
      ['op_c', 'Task'],
      ['op_d', 'Patient'],
      ['op_e', 'Task'],
      ['op_f', 'Task'],
    ]);
    const verdict = judge(
      [
        { operationId: 'op_a', status: 'succeeded', inEhr: 1 },
        { operationId: 'op_b', status: 'succeeded', inEhr: 0 },
        { operationId: 'op_c', status: 'succeeded', inEhr: 2 },
        { operationId: 'op_d', status: 'queued', inEhr: 0 },
        { operationId: 'op_e', status: 'failed', inEhr: 0 },
        { operationId: 'op_f', status: 'failed', inEhr: 1 },
      ],
      kinds,
    );
    expect(verdict).toMatchObject({
      accepted: 6,
      succeeded: 3,
      failed: 2,
      notDrained: 1,
      landedOnce: 1,
      lost: 1,
      duplicated: 1,
      appliedDespiteFailure: 1,
    });
    expect(verdict.byKind.Appointment).toEqual({ accepted: 2, landedOnce: 1 });
  });
});

describe('renderDrillHtml', () => {
  it('draws the phases and the charts inline and escapes what it prints', () => {
    const phases = compressTimeline(SCENARIO_PHASES.outage, 10_000).map((p) => ({ ...p, staged: true }));
    const records = [
      call(100, 'baseline', 10, { source: 'ehr' }),
      call(3000, 'ehr-down', 5, { source: 'cache' }),
    ];
    const report: DrillReport = {
      drill: {
        scenario: 'outage',
        runId: 'r1',
        target: 'https://staging.example.org/<script>',
        startedAt: '2026-12-03T09:00:00.000Z',
        finishedAt: '2026-12-03T09:00:20.000Z',
        durationMs: 10_000,
        compress: 1,
        wallMs: 10_000,
        baseRate: 10,
        callMix: {},
        seedPatients: 10,
      },
      phases,
      notStaged: {},
      staging: [],
      calls: {
        total: records.length,
        skippedAtConcurrencyBound: 0,
        byPhase: phaseFigures(phases, records),
        overTime: timeBuckets(records, 10_000, 10),
        records,
      },
      backlog: {
        samples: [],
        peak: 0,
        peakAtMs: null,
        timeToDrainMs: 0,
        drained: true,
        timelineEndMs: 10_000,
        acceptedDuringTrouble: 0,
        drainedAfterTrouble: 0,
      },
      writes: judge([], new Map()),
      writeOutcomes: [],
      events: {
        source: 'drill subscriber on loopback',
        expectedOperationEvents: 0,
        deliveredOperationEvents: 0,
        byType: {},
        subscribers: {},
        badSignatures: 0,
      },
      closure: undefined,
    };
    const html = renderDrillHtml(report);
    expect(html).toContain('EHR down');
    expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(5);
    expect(html).not.toContain('<script');
    expect(html).toContain('&#60;script&#62;');
    // Nothing to fetch: no link, image, font or script source anywhere in the page.
    expect(html).not.toMatch(/\b(src|href)=/);
    expect(html).not.toMatch(/url\(/);
    expect(html).toContain('lost 0, duplicated 0');
  });
});

describe('lineChart', () => {
  it('breaks the line where there is no value, and shows a lone value as a dot', () => {
    const svg = lineChart({
      title: 'cache',
      yLabel: '%',
      xMaxMs: 10_000,
      bands: [{ startMs: 2_000, endMs: 6_000, label: 'EHR down', color: 'rgba(229,57,53,0.16)' }],
      series: [
        {
          name: 'from cache',
          color: '#8e24aa',
          points: [
            [500, 0],
            [1500, 10],
            [2500, null],
            [3500, 100],
            [4500, null],
          ],
        },
      ],
    });
    expect(svg.match(/<path /g)).toHaveLength(1);
    expect(svg.match(/<circle /g)).toHaveLength(1);
    expect(svg).toContain('EHR down');
  });

  it('picks round axis steps', () => {
    expect(niceStep(100, 4)).toBe(50);
    expect(niceStep(34, 4)).toBe(10);
    expect(niceStep(0, 4)).toBe(1);
  });
});

describe('firstEmptyAfter', () => {
  it('ends the drain at the first empty sample after the trouble, not at a later blip of new work', () => {
    const samples = [0, 5, 12, 8, 0, 1, 0, 1].map((backlog, i) => ({
      atMs: i * 1000,
      backlog,
      breaker: 'closed',
      oldestPendingAgeSeconds: 0,
    }));
    expect(firstEmptyAfter(samples, 2000)).toBe(4000);
    expect(firstEmptyAfter(samples, 4000)).toBe(4000);
    expect(firstEmptyAfter(samples.slice(0, 4), 2000)).toBeNull();
  });
});
