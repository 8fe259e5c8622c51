/**
 * What one FHIR search brought back, and whether that is all the EHR holds. A search answered in
 * pages may stop early; whoever shows the result must then say it is incomplete, never present a
 * partial list (a patient's visits) as the whole of it.
 */
import type { Resource } from './fhir';

/**
 * Why a search stopped before its last page. No URL and no search value: the reason is shown to
 * call-center tools and logged, and an EHR's next link can carry PHI in its query.
 * - `page-limit`: more pages than the caller asked to follow;
 * - `next-link-origin`: the next page is on a host the connection does not allow;
 * - `next-link-downgrade`: the next page would be fetched over plain http from an https EHR;
 * - `next-link-invalid`: the next link is not a usable http(s) URL;
 * - `page-failed`: a page after the first failed (timeout, EHR error).
 */
export const SEARCH_TRUNCATION_REASONS = [
  'page-limit',
  'next-link-origin',
  'next-link-downgrade',
  'next-link-invalid',
  'page-failed',
] as const;

export type SearchTruncationReason = (typeof SEARCH_TRUNCATION_REASONS)[number];

export interface SearchTruncation {
  readonly reason: SearchTruncationReason;
  /** Pages read before stopping. */
  readonly pagesRead: number;
}

export interface SearchResult<T extends Resource> {
  readonly matches: readonly T[];
  /** Resources `_include` brought along (a Slot's Schedule). */
  readonly included: readonly Resource[];
  /** Set when the EHR holds more than `matches`: the search stopped before its last page. */
  readonly truncated?: SearchTruncation;
}
