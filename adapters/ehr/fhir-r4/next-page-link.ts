/**
 * Whether a search's `next` link may be followed, and where it points. The request carries the
 * connection's credentials, and the link comes from the EHR's answer, so it is followed only to
 * hosts the operator named:
 * - the base URL's own origin (scheme, host and port), and a relative link, resolved against it;
 * - an origin listed in the connection's `paging.allowedOrigins` (an EHR behind a proxy or load
 *   balancer that names its internal address, or another host name of the same EHR).
 * The same host name on another port or scheme is another origin and must be listed too: another
 * port can be another service on that machine, and http instead of https would send the
 * credentials and the patient data in clear. Listing an http origin is how an operator allows it.
 */
import type { SearchTruncationReason } from '../../../src/domain/search-result';

export type NextPageDecision =
  | { readonly follow: string }
  | { readonly refuse: Extract<SearchTruncationReason, `next-link-${string}`>; readonly origin?: string };

export interface NextPagePolicy {
  /** The connection's FHIR base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** Origins (`https://host:port`) the connection also allows next links on. */
  readonly allowedOrigins: ReadonlySet<string>;
}

export function nextPageDecision(link: string, policy: NextPagePolicy): NextPageDecision {
  const base = new URL(`${policy.baseUrl}/`);
  let url: URL;
  try {
    // `Appointment?_getpages=...` is relative to the base; `/fhir/...` to its origin.
    url = new URL(link, base);
  } catch {
    return { refuse: 'next-link-invalid' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { refuse: 'next-link-invalid' };
  if (url.username !== '' || url.password !== '') return { refuse: 'next-link-invalid', origin: url.origin };
  url.hash = '';
  if (url.origin === base.origin || policy.allowedOrigins.has(url.origin)) return { follow: url.href };
  if (base.protocol === 'https:' && url.protocol === 'http:') {
    return { refuse: 'next-link-downgrade', origin: url.origin };
  }
  return { refuse: 'next-link-origin', origin: url.origin };
}
