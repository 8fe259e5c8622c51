/**
 * Where a read's answer came from. `ehr`: asked just now. `cache`: the EHR could not answer (down,
 * slower than the read deadline, or its breaker open) and this is its last good answer, as of
 * `asOf`; agents' screens show the age so nobody mistakes it for live data.
 */
export interface Freshness {
  readonly source: 'ehr' | 'cache';
  readonly asOf: string;
}

export interface FreshRead<T> {
  readonly value: T;
  readonly freshness: Freshness;
}

/** An answer made of several reads is as fresh as its stalest part. */
export function older(a: Freshness, b: Freshness): Freshness {
  if (a.source === b.source) return a.asOf <= b.asOf ? a : b;
  return a.source === 'cache' ? a : b;
}
