/**
 * Disclosure by need. Before a caller is verified, an IVR flow needs to know only whether the
 * calling number belongs to one patient and which id, to verify against it: not names, birth
 * dates or MRNs. A client with `patients:lookup` alone gets that much; demographics need
 * `patients:read` (an agent desktop).
 */
import type { LookupResult } from './patient-lookup';

export interface LookupDisclosure {
  readonly found: boolean;
  readonly count: number;
  readonly matches: readonly { readonly id: string }[];
  readonly freshness: LookupResult['freshness'];
}

export function discloseIdsOnly(result: LookupResult): LookupDisclosure {
  const ids = [...result.matches.map((m) => m.id), ...(result.matchIds ?? [])];
  const unique = [...new Set(ids)];
  return {
    found: unique.length > 0,
    count: unique.length,
    matches: unique.map((id) => ({ id })),
    freshness: result.freshness,
  };
}
