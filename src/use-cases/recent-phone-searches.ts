/**
 * Numbers this process searched the EHR for lately, per connection. A lookup the phone index
 * answers by reads by id cannot see a patient who took the number outside Continuum (a family
 * member registered at the front desk); a search in the background finds them, and this keeps
 * that search to one per number per recheck window instead of one per call.
 */
import { LRUCache } from 'lru-cache';

export interface RecentPhoneSearches {
  /** The EHR was searched for this number within the window. */
  has(e164: string): boolean;
  note(e164: string): void;
}

export interface RecentPhoneSearchesOptions {
  /** The recheck window, in ms (0: every index-answered lookup searches in the background). */
  readonly windowMs: number;
  readonly maxEntries: number;
}

export function createRecentPhoneSearches(options: RecentPhoneSearchesOptions): RecentPhoneSearches {
  if (options.windowMs <= 0) return { has: () => false, note: () => undefined };
  const searched = new LRUCache<string, true>({ max: options.maxEntries, ttl: options.windowMs });
  return {
    has: (e164) => searched.has(e164),
    note: (e164) => {
      searched.set(e164, true);
    },
  };
}
