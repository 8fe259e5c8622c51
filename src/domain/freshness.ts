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
