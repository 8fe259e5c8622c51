/**
 * `connections.<name>.paging`: how a search answered in pages is followed. The EHR's `next` links
 * are followed on the base URL's own origin; an EHR behind a proxy or load balancer may name
 * another (its internal address, another host name), and only the origins listed here are
 * trusted with the connection's credentials besides the base URL's.
 */
import { z } from 'zod';

const pageOrigin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.origin === value && (url.protocol === 'https:' || url.protocol === 'http:');
  } catch {
    return false;
  }
}, 'must be an origin such as https://fhir2.ehr.example:8443 (scheme, host, port; no path)');

export const pagingSchema = z
  .object({
    /**
     * Origins besides the base URL's that next links may be followed to. The same host on another
     * port or scheme is another origin; an http origin listed here allows leaving https for it.
     */
    allowedOrigins: z.array(pageOrigin).default([]),
  })
  .strict()
  .prefault({});
