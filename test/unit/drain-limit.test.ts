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
});
