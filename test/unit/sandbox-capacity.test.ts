/**
 * The sandbox's capacity mode without HTTP: its short form and JSON form, the slots and the line in front of
 * them (FIFO, 429 past the queue depth), the measuring windows and their reset, on injected clocks.
 */
import { FaultModeError, FaultSpecError, parseFaultSpec } from '../../adapters/ehr/sandbox';
import { FaultSwitch, type FaultDecision } from '../../adapters/ehr/sandbox/fault-switch';
import { LatencyHistogram } from '../../adapters/ehr/sandbox/latency-histogram';

describe('parseFaultSpec: capacity', () => {
  it.each([
    ['capacity:16:40', { mode: 'capacity', concurrent: 16, latencyMs: 40, jitterMs: 0, queueDepth: 32 }],
    ['capacity:4:50:8', { mode: 'capacity', concurrent: 4, latencyMs: 50, jitterMs: 0, queueDepth: 8 }],
    ['capacity:4:50:0', { mode: 'capacity', concurrent: 4, latencyMs: 50, jitterMs: 0, queueDepth: 0 }],
    [
      'capacity:4:50:8:2',
      { mode: 'capacity', concurrent: 4, latencyMs: 50, jitterMs: 0, queueDepth: 8, retryAfterSeconds: 2 },
    ],
    [
      '{"mode":"capacity","concurrent":16,"latencyMs":40,"jitterMs":10,"seed":3,"paths":["Patient"],"durationMs":60000}',
      {
        mode: 'capacity',
        concurrent: 16,
        latencyMs: 40,
        jitterMs: 10,
        queueDepth: 32,
        seed: 3,
        paths: ['Patient'],
        durationMs: 60000,
      },
    ],
  ])('%s', (spec, expected) => {
    expect(parseFaultSpec(spec)).toEqual(expected);
  });

  it.each([
    ['capacity', /capacity needs concurrent/],
    ['capacity:16', /capacity needs latencyMs/],
    ['capacity:0:40', /concurrent: Too small/],
    ['capacity:1.5:40', /concurrent: .*int/],
    ['capacity:16:fast', /latencyMs must be a number, got "fast"/],
    ['capacity:16:40:-1', /queueDepth: Too small/],
    ['capacity:16:40:32:x', /retryAfterSeconds must be a number/],
    ['capacity:16:40:32:5:6', /capacity takes at most 4 value/],
    ['{"mode":"capacity","concurrent":16,"latencyMs":40,"kind":"http503"}', /kind: is not an option/],
    [
      '{"mode":"capacity","concurrent":16,"latencyMs":40,"durationMs":1,"untilMs":2}',
      /durationMs: give either/,
    ],
  ])('rejects %j', (spec, message) => {
    expect(() => parseFaultSpec(spec)).toThrow(FaultSpecError);
    expect(() => parseFaultSpec(spec)).toThrow(message);
  });

  it('names the capacity form among those it accepts', () => {
    expect(() => parseFaultSpec('nope')).toThrow(/capacity:concurrent:latencyMs\[:queueDepth/);
  });
});

describe('LatencyHistogram', () => {
  it('gives nearest-rank percentiles to 0.1 ms, and nulls when empty', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.summary()).toEqual({ count: 0, min: null, p50: null, p90: null, p99: null, max: null });
    for (let i = 1; i <= 200; i++) histogram.record(i + 0.04);
    expect(histogram.summary()).toEqual({ count: 200, min: 1, p50: 100, p90: 180, p99: 198, max: 200 });
    histogram.record(0.345);
    expect(histogram.summary()).toMatchObject({ count: 201, min: 0.3, max: 200 });
  });
});

describe('FaultSwitch: capacity', () => {
  function clocks(): { now: () => number; elapsed: () => number; advance(ms: number): void } {
    let wall = Date.parse('2026-03-02T12:00:00Z');
    let mono = 1000;
    return {
      now: () => wall,
      elapsed: () => mono,
      advance: (ms) => {
        wall += ms;
        mono += ms;
      },
    };
  }

  /** One request at the switch: what it was told, and when it got its slot. */
  interface Arrival {
    readonly decision: FaultDecision;
    holdMs: number | undefined;
    done(answered?: boolean): void;
  }

  function arrive(faults: FaultSwitch, path = '/Patient'): Arrival {
    const decision = faults.decide('GET', path);
    const arrival: Arrival = {
      decision,
      holdMs: undefined,
      done: (answered = true) => {
        if (decision.action !== 'hold') throw new Error(`not holding: ${decision.action}`);
        decision.ticket.done(answered);
      },
    };
    if (decision.action === 'hold') {
      decision.ticket.whenServed((holdMs) => {
        arrival.holdMs = holdMs;
      });
    }
    return arrival;
  }

  it('serves `concurrent` at once, queues the next ones in arrival order, then answers 429', () => {
    const time = clocks();
    const faults = new FaultSwitch({
      now: time.now,
      elapsed: time.elapsed,
      initial: { mode: 'capacity', concurrent: 2, latencyMs: 50, queueDepth: 2, retryAfterSeconds: 3 },
    });
    const arrivals = Array.from({ length: 5 }, () => arrive(faults));
    expect(arrivals.map((a) => a.decision.action)).toEqual(['hold', 'hold', 'hold', 'hold', 'fail']);
    expect(arrivals[4]!.decision).toEqual({ action: 'fail', kind: 'http429', retryAfterSeconds: 3 });
    expect(arrivals.map((a) => a.holdMs)).toEqual([50, 50, undefined, undefined, undefined]);
    expect(faults.capacityState()).toMatchObject({ active: true, inFlight: 2, waiting: 2 });

    time.advance(60);
    arrivals[1]!.done();
    // The first in line takes the freed slot, not the second.
    expect(arrivals.map((a) => a.holdMs)).toEqual([50, 50, 50, undefined, undefined]);
    time.advance(60);
    arrivals[0]!.done();
    arrivals[2]!.done();
    arrivals[3]!.done();

    const state = faults.capacityState();
    expect(state).toMatchObject({ inFlight: 0, waiting: 0 });
    expect(state.window).toMatchObject({
      arrived: 5,
      served: 4,
      throttled: 1,
      abandoned: 0,
      pending: 0,
      maxInFlight: 2,
      maxWaiting: 2,
      until: null,
    });
    // From arrival to answer: 120, 60, 120, 120; to a slot: 0, 0, 60 and 120 (the last slot freed at 120).
    expect(state.window?.latencyMs).toEqual({ count: 4, min: 60, p50: 120, p90: 120, p99: 120, max: 120 });
    expect(state.window?.waitMs).toEqual({ count: 4, min: 0, p50: 0, p90: 120, p99: 120, max: 120 });
    expect(faults.get().counters).toEqual({
      seen: 5,
      passed: 4,
      delayed: 4,
      failed: 1,
      failedAfterCommit: 0,
    });
  });

  it('answers 429 without Retry-After when none is set, and at once with a queue depth of 0', () => {
    const faults = new FaultSwitch({
      initial: { mode: 'capacity', concurrent: 1, latencyMs: 0, queueDepth: 0 },
    });
    expect(arrive(faults).decision.action).toBe('hold');
    expect(arrive(faults).decision).toEqual({
      action: 'fail',
      kind: 'http429',
      retryAfterSeconds: undefined,
    });
  });

  it('counts metadata like any request unless paths leave it out', () => {
    const faults = new FaultSwitch({
      initial: { mode: 'capacity', concurrent: 1, latencyMs: 0, queueDepth: 0 },
    });
    arrive(faults, '/metadata');
    expect(arrive(faults, '/Patient').decision.action).toBe('fail');

    faults.set({ mode: 'capacity', concurrent: 1, latencyMs: 0, queueDepth: 0, paths: ['Patient'] });
    // The request still holding its slot from before keeps it across the change.
    expect(arrive(faults, '/Patient').decision.action).toBe('fail');
    expect(arrive(faults, '/metadata').decision).toEqual({ action: 'pass' });
    expect(faults.capacityState().window).toMatchObject({ arrived: 1, throttled: 1 });
  });

  it('adds jitter on top of the latency, repeatably for a seed', () => {
    const holds = (): number[] => {
      const faults = new FaultSwitch({
        initial: { mode: 'capacity', concurrent: 100, latencyMs: 40, jitterMs: 20, seed: 9 },
      });
      return Array.from({ length: 50 }, () => arrive(faults).holdMs ?? -1);
    };
    const first = holds();
    expect(first).toEqual(holds());
    expect(Math.min(...first)).toBeGreaterThanOrEqual(40);
    expect(Math.max(...first)).toBeLessThanOrEqual(60);
    expect(new Set(first).size).toBeGreaterThan(5);
  });

  it('a reset starts a new window; requests count in the window they arrived in', () => {
    const time = clocks();
    const faults = new FaultSwitch({
      now: time.now,
      elapsed: time.elapsed,
      initial: { mode: 'capacity', concurrent: 1, latencyMs: 10, queueDepth: 1 },
    });
    const early = arrive(faults);
    const queued = arrive(faults);
    time.advance(15);
    const reset = faults.resetCapacity();
    expect(reset.previous).toMatchObject({ arrived: 2, pending: 2, until: '2026-03-02T12:00:00.015Z' });
    // The new window starts with the occupancy it finds.
    expect(reset.window).toMatchObject({
      arrived: 0,
      maxInFlight: 1,
      maxWaiting: 1,
      since: '2026-03-02T12:00:00.015Z',
    });

    early.done();
    time.advance(10);
    queued.done(false);
    const late = arrive(faults);
    time.advance(10);
    late.done();
    const state = faults.capacityState();
    expect(state.previous).toMatchObject({ arrived: 2, served: 1, abandoned: 1, pending: 0 });
    expect(state.previous?.latencyMs).toMatchObject({ count: 1, p99: 15 });
    expect(state.window).toMatchObject({ arrived: 1, served: 1, pending: 0 });
    expect(state.window?.latencyMs).toMatchObject({ count: 1, p99: 10 });
  });

  it('leaving capacity lets the waiting requests through at once, ends the holds, and closes the window', () => {
    const time = clocks();
    const faults = new FaultSwitch({
      now: time.now,
      elapsed: time.elapsed,
      initial: { mode: 'capacity', concurrent: 1, latencyMs: 50, queueDepth: 5 },
    });
    const first = arrive(faults);
    let released = 0;
    if (first.decision.action === 'hold') {
      first.decision.ticket.onRelease(() => {
        released++;
      });
    }
    const waiting = [arrive(faults), arrive(faults), arrive(faults)];
    expect(waiting.map((a) => a.holdMs)).toEqual([undefined, undefined, undefined]);
    time.advance(5);
    faults.reset();
    expect(released).toBe(1);
    expect(waiting.map((a) => a.holdMs)).toEqual([0, 0, 0]);
    expect(arrive(faults).decision).toEqual({ action: 'pass' });
    for (const arrival of [first, ...waiting]) arrival.done();
    const state = faults.capacityState();
    expect(state).toMatchObject({ active: false, mode: null, inFlight: 0, waiting: 0, window: null });
    expect(state.previous).toMatchObject({
      arrived: 4,
      served: 4,
      pending: 0,
      until: '2026-03-02T12:00:00.005Z',
    });
  });

  it('a smaller capacity set over a larger one lets the requests in flight finish before the next starts', () => {
    const faults = new FaultSwitch({ initial: { mode: 'capacity', concurrent: 3, latencyMs: 0 } });
    const running = [arrive(faults), arrive(faults), arrive(faults)];
    faults.set({ mode: 'capacity', concurrent: 1, latencyMs: 0 });
    const next = arrive(faults);
    running[0]!.done();
    running[1]!.done();
    expect(next.holdMs).toBeUndefined();
    running[2]!.done();
    expect(next.holdMs).toBe(0);
    expect(faults.capacityState().window?.maxInFlight).toBe(3);
  });

  it('ends with the mode at durationMs, like every other fault', () => {
    const time = clocks();
    const faults = new FaultSwitch({ now: time.now, elapsed: time.elapsed });
    faults.set({ mode: 'capacity', concurrent: 1, latencyMs: 0, queueDepth: 0, durationMs: 100 });
    const holding = arrive(faults);
    time.advance(100);
    expect(arrive(faults).decision).toEqual({ action: 'pass' });
    holding.done();
    expect(faults.capacityState()).toMatchObject({ active: false, inFlight: 0 });
    expect(faults.get().previous).toMatchObject({ ended: 'expired', mode: { mode: 'capacity' } });
  });

  it('frees a slot once only, and refuses a bad capacity naming the field', () => {
    const faults = new FaultSwitch({ initial: { mode: 'capacity', concurrent: 1, latencyMs: 0 } });
    const first = arrive(faults);
    const second = arrive(faults);
    first.done();
    first.done();
    expect(second.holdMs).toBe(0);
    expect(faults.capacityState().inFlight).toBe(1);
    expect(() => faults.set({ mode: 'capacity', concurrent: 0, latencyMs: -1 })).toThrow(FaultModeError);
    try {
      faults.set({ mode: 'capacity', concurrent: 0, latencyMs: -1 });
    } catch (error) {
      expect((error as FaultModeError).problems.map((p) => p.field).sort()).toEqual([
        'concurrent',
        'latencyMs',
      ]);
    }
  });

  it('logs the ended window with the change that ends it, counts and latencies only', () => {
    const lines: { obj: object; msg: string | undefined }[] = [];
    const logger = {
      info: (obj: object, msg?: string) => lines.push({ obj, msg }),
      warn: (obj: object, msg?: string) => lines.push({ obj, msg }),
    };
    const faults = new FaultSwitch({ logger, initial: { mode: 'capacity', concurrent: 1, latencyMs: 0 } });
    arrive(faults).done();
    faults.reset();
    faults.set({ mode: 'down' });
    expect(lines.map((l) => l.msg)).toEqual([
      'sandbox EHR fault mode changed',
      'sandbox EHR fault mode changed',
      'sandbox EHR fault mode changed',
    ]);
    expect(lines[0]!.obj).not.toHaveProperty('previousCapacity');
    expect(lines[1]!.obj).toMatchObject({
      previousMode: 'capacity',
      previousCapacity: { arrived: 1, served: 1 },
    });
    expect(lines[2]!.obj).not.toHaveProperty('previousCapacity');
  });

  it('reports no window before a capacity mode was ever set', () => {
    const faults = new FaultSwitch();
    expect(faults.capacityState()).toEqual({
      active: false,
      mode: null,
      inFlight: 0,
      waiting: 0,
      window: null,
      previous: null,
    });
    expect(faults.resetCapacity().window).toBeNull();
  });
});
