/**
 * How a phone search over several stored formats is sent to one EHR: as one query with the formats
 * as comma-separated alternatives (`combined`), or as one query per format sent at once and merged
 * (`parallel`). Some FHIR servers answer an `a,b,c,...` search far slower than the same exact-text
 * searches one by one; others the other way round. `auto` times both on the first searches of the
 * connection, alternating, and keeps the faster for the life of the process. Each process measures
 * on its own: a few searches each way is cheap, and it spares a Redis round trip on every lookup.
 */
import type { PhoneSearchMode, PhoneSearchQuery } from '../domain/ehr-capabilities';

export interface PhoneSearchWay {
  /** The way the next search goes. */
  next(): PhoneSearchQuery;
  /** A search that answered, sent that way, took `ms`. Failures are not recorded: they time the outage, not the way. */
  record(way: PhoneSearchQuery, ms: number): void;
  /** The way kept: the configured one, or in `auto` the faster once both are measured. */
  chosen(): PhoneSearchQuery | undefined;
}

export interface PhoneSearchWayOptions {
  readonly mode: PhoneSearchMode;
  /** Searches timed each way before `auto` decides. */
  readonly samples?: number;
  /** Told once, when `auto` has decided: the medians compared, in ms. */
  readonly onChosen?: (way: PhoneSearchQuery, medians: Readonly<Record<PhoneSearchQuery, number>>) => void;
}

const DEFAULT_SAMPLES = 3;

export function createPhoneSearchWay(options: PhoneSearchWayOptions): PhoneSearchWay {
  if (options.mode !== 'auto') {
    const fixed = options.mode;
    return { next: () => fixed, record: () => undefined, chosen: () => fixed };
  }
  const samples = options.samples ?? DEFAULT_SAMPLES;
  const sent: Record<PhoneSearchQuery, number> = { combined: 0, parallel: 0 };
  const timed: Record<PhoneSearchQuery, number[]> = { combined: [], parallel: [] };
  let kept: PhoneSearchQuery | undefined;
  return {
    next: () => {
      if (kept !== undefined) return kept;
      // By searches sent, not answered: the first callers of a busy morning arrive together.
      const way = sent.parallel < sent.combined ? 'parallel' : 'combined';
      sent[way] += 1;
      return way;
    },
    record: (way, ms) => {
      if (kept !== undefined) return;
      timed[way].push(ms);
      if (timed.combined.length < samples || timed.parallel.length < samples) return;
      const medians = { combined: median(timed.combined), parallel: median(timed.parallel) };
      // A tie keeps the one query: it costs the EHR less.
      kept = medians.parallel < medians.combined ? 'parallel' : 'combined';
      options.onChosen?.(kept, medians);
    },
    chosen: () => kept,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
