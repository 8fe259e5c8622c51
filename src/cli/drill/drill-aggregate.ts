/**
 * Figures the report shows, computed from the drill's call records: per phase and per time bucket.
 * Pure functions, so the arithmetic is tested apart from any gateway.
 */
import type { BacklogSample, CallRecord } from './drill-records';
import type { Phase } from './scenarios';

/** Nearest-rank percentile of unsorted values; null for none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

/** An answer the caller could use: 2xx. */
export const isServed = (r: CallRecord): boolean => r.status >= 200 && r.status < 300;
/** The gateway or the network failed the caller: no answer, or a 5xx. */
export const isError = (r: CallRecord): boolean => r.status === 0 || r.status >= 500;

export interface PhaseFigures {
  readonly phase: string;
  readonly label: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly calls: number;
  readonly served: number;
  /** 4xx answers: a slot already taken, a limit reached (the caller is told why). */
  readonly refused: number;
  readonly errors: number;
  readonly callsPerSecond: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Of the reads that said where their answer came from, the share answered from the cache. */
  readonly cacheShare: number | null;
  readonly writesAccepted: number;
  /** Problem codes of the 4xx and 5xx answers (`EHR_UNAVAILABLE`...), and `NO_ANSWER` for none. */
  readonly codes: Record<string, number>;
}

function codesOf(records: readonly CallRecord[]): Record<string, number> {
  const codes: Record<string, number> = {};
  for (const r of records) {
    if (r.status !== 0 && r.status < 400) continue;
    const code = r.status === 0 ? 'NO_ANSWER' : (r.code ?? `HTTP_${r.status}`);
    codes[code] = (codes[code] ?? 0) + 1;
  }
  return codes;
}

function figuresOf(records: readonly CallRecord[], seconds: number) {
  const latencies = records.map((r) => r.latencyMs);
  const sourced = records.filter((r) => r.source !== undefined);
  const cached = sourced.filter((r) => r.source === 'cache').length;
  return {
    calls: records.length,
    served: records.filter(isServed).length,
    refused: records.filter((r) => r.status >= 400 && r.status < 500).length,
    errors: records.filter(isError).length,
    callsPerSecond: seconds > 0 ? round(records.length / seconds, 2) : 0,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cacheShare: sourced.length > 0 ? round(cached / sourced.length, 3) : null,
    writesAccepted: records.filter((r) => r.operationId !== undefined).length,
  };
}

export function phaseFigures(phases: readonly Phase[], records: readonly CallRecord[]): PhaseFigures[] {
  return phases.map((p) => ({
    phase: p.name,
    label: p.label,
    startMs: p.startMs,
    endMs: p.endMs,
    ...figuresOf(
      records.filter((r) => r.phase === p.name),
      (p.endMs - p.startMs) / 1000,
    ),
    codes: codesOf(records.filter((r) => r.phase === p.name)),
  }));
}

export interface Bucket {
  readonly startMs: number;
  readonly endMs: number;
  readonly calls: number;
  readonly callsPerSecond: number;
  readonly errors: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly cacheShare: number | null;
}

/** The drill cut into `count` equal spans of time, each with its figures (by the moment calls were sent). */
export function timeBuckets(records: readonly CallRecord[], wallMs: number, count: number): Bucket[] {
  const size = wallMs / count;
  const groups: CallRecord[][] = Array.from({ length: count }, () => []);
  for (const r of records) {
    const index = Math.min(count - 1, Math.max(0, Math.floor(r.atMs / size)));
    groups[index]?.push(r);
  }
  return groups.map((group, i) => {
    const f = figuresOf(group, size / 1000);
    return {
      startMs: Math.round(i * size),
      endMs: Math.round((i + 1) * size),
      calls: f.calls,
      callsPerSecond: f.callsPerSecond,
      errors: f.errors,
      p50Ms: f.p50Ms,
      p99Ms: f.p99Ms,
      cacheShare: f.cacheShare,
    };
  });
}

export interface BacklogFigures {
  readonly peak: number;
  readonly peakAtMs: number | null;
  /** From the peak to the first sample at zero after it; null if the backlog never emptied. */
  readonly drainMs: number | null;
}

export function backlogFigures(samples: readonly BacklogSample[]): BacklogFigures {
  let peak = 0;
  let peakAtMs: number | null = null;
  for (const s of samples) {
    if (s.backlog > peak) {
      peak = s.backlog;
      peakAtMs = s.atMs;
    }
  }
  if (peakAtMs === null) return { peak: 0, peakAtMs: null, drainMs: 0 };
  const at = peakAtMs;
  const emptied = samples.find((s) => s.atMs > at && s.backlog === 0);
  return { peak, peakAtMs, drainMs: emptied === undefined ? null : emptied.atMs - at };
}

/**
 * When the backlog first stood empty once the trouble ended: the drain's end. The load keeps
 * writing afterwards, so a later one-write blip is new work, not the drain still going.
 */
export function firstEmptyAfter(samples: readonly BacklogSample[], fromMs: number): number | null {
  return samples.find((s) => s.atMs >= fromMs && s.backlog === 0)?.atMs ?? null;
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
