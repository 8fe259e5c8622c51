/** Durations are kept to a tenth of a millisecond: finer than any EHR latency worth reading, coarse enough to bound memory. */
const STEPS_PER_MS = 10;

export interface LatencySummary {
  /** Durations recorded. */
  readonly count: number;
  /** The shortest, in ms to 0.1; null when none was recorded. */
  readonly min: number | null;
  /** Nearest-rank percentiles of the recorded durations, in ms to 0.1; null when none was recorded. */
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/**
 * Exact percentiles of every duration recorded, to 0.1 ms. A count per 0.1 ms step rather than every
 * sample: memory grows with the spread of the durations, not with how many requests a long drill makes.
 */
export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private total = 0;

  record(ms: number): void {
    const step = Math.max(0, Math.round(ms * STEPS_PER_MS));
    this.counts.set(step, (this.counts.get(step) ?? 0) + 1);
    this.total++;
  }

  summary(): LatencySummary {
    if (this.total === 0) {
      return { count: 0, min: null, p50: null, p90: null, p99: null, max: null };
    }
    const steps = [...this.counts.entries()].sort(([a], [b]) => a - b);
    const at = (fraction: number): number => {
      const rank = Math.max(1, Math.ceil(fraction * this.total));
      let seen = 0;
      for (const [step, count] of steps) {
        seen += count;
        if (seen >= rank) {
          return step / STEPS_PER_MS;
        }
      }
      return (steps[steps.length - 1]?.[0] ?? 0) / STEPS_PER_MS;
    };
    return {
      count: this.total,
      min: (steps[0]?.[0] ?? 0) / STEPS_PER_MS,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: at(1),
    };
  }
}
