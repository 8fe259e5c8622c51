/**
 * How many writes a connection sends to its EHR at once, found while draining rather than
 * configured: a real EHR's capacity is unknown, changes through the day, and is shared with
 * every other system that calls it.
 *
 * The rule is AIMD (additive increase, multiplicative decrease) with a latency band, judged once
 * per window of calls pooled from every worker process:
 * - the EHR throttled (429, 503) or a call timed out: the limit is cut by `cutFactor`;
 * - the window's mean latency is past `cutAbove` times the baseline: cut too (the EHR is queueing),
 *   but never below `initialLimit` on latency alone;
 * - the mean stays within `growBelow` times the baseline and the limit was in full use: one more;
 * - else it holds.
 * AIMD rather than a gradient limiter because the samples of several processes arrive pooled per
 * window, not as one clean round trip per request, and because AIMD is what lets several gateways
 * (or other clients) sharing one EHR converge to fair shares instead of starving one another.
 * The baseline is the lowest window mean of the last `baselineWindows` windows: a queueing spike
 * does not move it, and an EHR that became slower for good is re-learned within that span. It is
 * never taken below `baselineFloorMs`: under that, what is measured is mostly the gateway's own CPU
 * and event loop, whose noise would read as an EHR queueing. After a cut the limit waits
 * `cooldownWindows` before it cuts again, as TCP cuts once per round trip: the calls already in the
 * EHR's queue still answer slowly, and counting them again would cut a limit already cut.
 */

export interface DrainLimitSettings {
  /** The limit a connection starts from, before anything is known of its EHR. */
  readonly initialLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
  /** Grow only while the mean latency is within this many times the baseline. */
  readonly growBelow: number;
  /** Cut once the mean latency is past this many times the baseline. */
  readonly cutAbove: number;
  /** What a cut keeps of the limit. */
  readonly cutFactor: number;
  /** How many past windows the baseline (their lowest mean) is taken from. */
  readonly baselineWindows: number;
  /** The least baseline the latency is judged against, in ms. */
  readonly baselineFloorMs: number;
  /** Windows after a cut during which the limit is not cut again. */
  readonly cooldownWindows: number;
}

export const DEFAULT_DRAIN_LIMIT_SETTINGS: DrainLimitSettings = {
  initialLimit: 4,
  minLimit: 1,
  maxLimit: 64,
  growBelow: 1.3,
  cutAbove: 2,
  cutFactor: 0.75,
  baselineWindows: 40,
  baselineFloorMs: 20,
  cooldownWindows: 2,
};

/** What the EHR showed during one window, from every process of the gateway together. */
export interface DrainWindow {
  /** Calls answered, by any answer other than a throttle or a timeout. */
  readonly calls: number;
  readonly latencyMsSum: number;
  /** 429 and 503 answers. */
  readonly throttled: number;
  readonly timeouts: number;
  /** The most writes holding a permit at once during the window. */
  readonly peakInFlight: number;
}

export interface DrainLimitState {
  readonly limit: number;
  /** Recent window means, newest last; the baseline is their minimum. */
  readonly recentMeansMs: readonly number[];
  /** Windows judged since the last cut (absent: none yet). */
  readonly sinceCut?: number;
}

/** What the last judgement did; `restart`: the EHR went down, and comes back from half the limit. */
export const DRAIN_LIMIT_CHANGES = [
  'grow',
  'hold',
  'idle',
  'cut-throttled',
  'cut-timeout',
  'cut-latency',
  'restart',
] as const;

export type DrainLimitChange = (typeof DRAIN_LIMIT_CHANGES)[number];

export interface DrainLimitDecision {
  readonly state: DrainLimitState;
  readonly change: DrainLimitChange;
  readonly meanMs: number | undefined;
  readonly baselineMs: number | undefined;
}

export function baselineOf(state: DrainLimitState): number | undefined {
  return state.recentMeansMs.length === 0 ? undefined : Math.min(...state.recentMeansMs);
}

export function initialDrainState(settings: DrainLimitSettings): DrainLimitState {
  return { limit: settings.initialLimit, recentMeansMs: [] };
}

export function adjustDrainLimit(
  state: DrainLimitState,
  window: DrainWindow,
  settings: DrainLimitSettings,
): DrainLimitDecision {
  const clamp = (limit: number): number => Math.min(settings.maxLimit, Math.max(settings.minLimit, limit));
  const meanMs = window.calls > 0 ? window.latencyMsSum / window.calls : undefined;
  const recentMeansMs =
    meanMs === undefined
      ? state.recentMeansMs
      : [...state.recentMeansMs, meanMs].slice(-settings.baselineWindows);
  // The baseline this window is judged against excludes the window itself: one slow window must
  // not become its own yardstick.
  const baselineMs = baselineOf(state) ?? meanMs;
  const sinceCut = state.sinceCut ?? settings.cooldownWindows;
  const decide = (limit: number, change: DrainLimitChange): DrainLimitDecision => ({
    state: { limit, recentMeansMs, sinceCut: change.startsWith('cut') ? 0 : sinceCut + 1 },
    change,
    meanMs,
    baselineMs,
  });
  const cut = (change: DrainLimitChange): DrainLimitDecision => {
    if (sinceCut < settings.cooldownWindows) return decide(clamp(state.limit), 'hold');
    const cutTo = Math.floor(state.limit * settings.cutFactor);
    // Latency alone is an ambiguous sign (the gateway's own CPU, a pause, the network): it never
    // takes the limit below where it starts. Only the EHR's own refusals and timeouts go lower.
    const least = change === 'cut-latency' ? Math.min(state.limit, settings.initialLimit) : 0;
    return decide(clamp(Math.max(cutTo, least)), change);
  };

  if (window.throttled > 0) return cut('cut-throttled');
  if (window.timeouts > 0) return cut('cut-timeout');
  if (meanMs === undefined || baselineMs === undefined) return decide(clamp(state.limit), 'idle');
  const yardstick = Math.max(baselineMs, settings.baselineFloorMs);
  if (meanMs > yardstick * settings.cutAbove) return cut('cut-latency');
  // Growing a limit nobody reaches would only let a later burst hit the EHR all at once.
  const inFullUse = window.peakInFlight >= Math.floor(state.limit);
  if (meanMs <= yardstick * settings.growBelow && inFullUse) return decide(clamp(state.limit + 1), 'grow');
  return decide(clamp(state.limit), 'hold');
}

/** What one call to the EHR showed, for the limit. */
export interface EhrCallSample {
  readonly outcome: 'answered' | 'throttled' | 'timeout' | 'unreachable';
  readonly latencyMs: number;
  /** The EHR's `Retry-After`: nothing is sent on this connection before it passes. */
  readonly retryAfterSeconds?: number;
}

/** A right to send one write now; give it back when the write's calls are over. */
export interface DrainPermit {
  release(): Promise<void>;
}

export interface DrainLimitSnapshot {
  readonly limit: number;
  readonly inFlight: number;
  readonly baselineMs: number | undefined;
  /** Set while a `Retry-After` holds every write of the connection back. */
  readonly pausedUntil: string | undefined;
  readonly lastChange: DrainLimitChange | undefined;
}

/** One connection's adaptive limit, shared by every worker process (see the rule above). */
export interface DrainLimiter {
  readonly connection: string;
  /** Waits for a permit; lower `priority` numbers are served first among this process's waiters. */
  acquire(priority?: number): Promise<DrainPermit>;
  /** Every call to the EHR feeds the limit, reads included: they load the same EHR. */
  observe(sample: EhrCallSample): void;
  snapshot(): Promise<DrainLimitSnapshot>;
  /**
   * The EHR went down (its breaker opened): a recovering EHR is fragile and may come back with
   * less capacity, so the drain restarts from half the limit (never above where it started).
   */
  restart(): Promise<void>;
  close(): Promise<void>;
}
