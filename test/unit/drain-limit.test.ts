import {
  adjustDrainLimit,
  DEFAULT_DRAIN_LIMIT_SETTINGS as settings,
  initialDrainState,
  type DrainLimitState,
  type DrainWindow,
} from '../../src/domain/drain-limit';

const window = (over: Partial<DrainWindow> = {}): DrainWindow => ({
  calls: 20,
  latencyMsSum: 20 * 40,
  throttled: 0,
  timeouts: 0,
  peakInFlight: 100,
  ...over,
});

/** A state that has seen `means` windows at 40 ms and holds `limit`. */
const learned = (limit: number): DrainLimitState => ({ limit, recentMeansMs: [40, 41, 40] });

describe('the adaptive drain limit', () => {
  it('starts from the initial limit and learns the baseline from the first window', () => {
    const first = adjustDrainLimit(initialDrainState(settings), window(), settings);
    expect(first.change).toBe('grow');
    expect(first.state.limit).toBe(settings.initialLimit + 1);
    expect(first.state.recentMeansMs).toEqual([40]);
  });

  it('grows by one per window while latency stays near the baseline and the limit is in full use', () => {
    let state = learned(10);
    for (let i = 0; i < 5; i++)
      state = adjustDrainLimit(state, window({ latencyMsSum: 20 * 48 }), settings).state;
    expect(state.limit).toBe(15);
  });

  it('does not grow a limit nobody reaches', () => {
    const decision = adjustDrainLimit(learned(10), window({ peakInFlight: 6 }), settings);
    expect(decision).toMatchObject({ change: 'hold', state: { limit: 10 } });
  });

  it('holds between the growth band and the cut line', () => {
    const decision = adjustDrainLimit(learned(20), window({ latencyMsSum: 20 * 60 }), settings);
    expect(decision).toMatchObject({ change: 'hold', state: { limit: 20 } });
  });

  it('cuts on latency past twice the baseline, judged against earlier windows only', () => {
    const decision = adjustDrainLimit(learned(20), window({ latencyMsSum: 20 * 90 }), settings);
    expect(decision).toMatchObject({ change: 'cut-latency', state: { limit: 15 }, baselineMs: 40 });
  });

  it('cuts on any throttle or timeout, whatever the latency', () => {
    expect(adjustDrainLimit(learned(20), window({ throttled: 1 }), settings)).toMatchObject({
      change: 'cut-throttled',
      state: { limit: 15 },
    });
    expect(
      adjustDrainLimit(learned(20), window({ timeouts: 2, calls: 0, latencyMsSum: 0 }), settings),
    ).toMatchObject({
      change: 'cut-timeout',
      state: { limit: 15 },
    });
  });

  it('never leaves the configured bounds', () => {
    let state = learned(2);
    for (let i = 0; i < 10; i++) state = adjustDrainLimit(state, window({ throttled: 3 }), settings).state;
    expect(state.limit).toBe(settings.minLimit);
    state = learned(settings.maxLimit);
    expect(adjustDrainLimit(state, window(), settings).state.limit).toBe(settings.maxLimit);
  });

  it('forgets a spike: the baseline is the lowest of the recent windows, a bounded memory', () => {
    let state: DrainLimitState = learned(10);
    for (let i = 0; i < settings.baselineWindows; i++)
      state = adjustDrainLimit(state, window({ latencyMsSum: 20 * 100, peakInFlight: 0 }), settings).state;
    // The EHR is slower for good: after a full memory of slow windows, 100 ms is the new normal.
    expect(state.recentMeansMs).toHaveLength(settings.baselineWindows);
    const next = adjustDrainLimit(state, window({ latencyMsSum: 20 * 110 }), settings);
    expect(next.baselineMs).toBe(100);
    expect(next.change).toBe('grow');
  });

  it('holds an idle window without learning anything from it', () => {
    const decision = adjustDrainLimit(
      learned(7),
      window({ calls: 0, latencyMsSum: 0, peakInFlight: 0 }),
      settings,
    );
    expect(decision).toMatchObject({ change: 'idle', state: { limit: 7, recentMeansMs: [40, 41, 40] } });
  });

  it('cuts once per congestion: the windows right after a cut do not cut again', () => {
    const cut = adjustDrainLimit(learned(20), window({ throttled: 2 }), settings);
    expect(cut.state).toMatchObject({ limit: 15, sinceCut: 0 });
    // The requests already queued in the EHR still answer 429 or slowly for a moment.
    const next = adjustDrainLimit(cut.state, window({ throttled: 1, latencyMsSum: 20 * 200 }), settings);
    expect(next).toMatchObject({ change: 'hold', state: { limit: 15, sinceCut: 1 } });
    const after = adjustDrainLimit(next.state, window({ throttled: 1 }), settings);
    expect(after).toMatchObject({ change: 'hold', state: { limit: 15, sinceCut: 2 } });
    expect(adjustDrainLimit(after.state, window({ throttled: 1 }), settings)).toMatchObject({
      change: 'cut-throttled',
      state: { limit: 11 },
    });
  });

  it("judges an EHR answering in a few ms against the floor: the gateway's own noise is not congestion", () => {
    const fast: DrainLimitState = { limit: 10, recentMeansMs: [3, 4, 3] };
    // 30 ms is ten times a 3 ms baseline, yet under the floor's cut line (2 x 20 ms): no cut.
    expect(adjustDrainLimit(fast, window({ latencyMsSum: 20 * 30 }), settings).change).toBe('hold');
    expect(adjustDrainLimit(fast, window({ latencyMsSum: 20 * 12 }), settings).change).toBe('grow');
    expect(adjustDrainLimit(fast, window({ latencyMsSum: 20 * 45 }), settings).change).toBe('cut-latency');
  });

  it('never cuts below the initial limit on latency alone; throttles go lower', () => {
    const low = learned(5);
    expect(adjustDrainLimit(low, window({ latencyMsSum: 20 * 200 }), settings).state.limit).toBe(
      settings.initialLimit,
    );
    expect(adjustDrainLimit(low, window({ throttled: 1 }), settings).state.limit).toBe(3);
    // A limit already below it, after throttles, is not raised by a latency cut.
    expect(adjustDrainLimit(learned(2), window({ latencyMsSum: 20 * 200 }), settings).state.limit).toBe(2);
  });
});
