/**
 * The link that chains one audit record to the one before it in its stream: an HMAC over the
 * previous link and the record as stored. Changing a record breaks its own link; deleting one
 * breaks the next record's `prev`. Keyed, so whoever can write to Redis cannot forge a consistent
 * chain without the gateway's key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The `prev` of a stream's first record. */
export const GENESIS = 'genesis';

export interface AuditChain {
  link(prev: string, stored: string): string;
  matches(prev: string, stored: string, link: string): boolean;
}

export function auditChain(key: Buffer): AuditChain {
  const chainKey = createHmac('sha256', key).update('continuum-audit-chain').digest();
  const link = (prev: string, stored: string): string =>
    createHmac('sha256', chainKey).update(prev).update('\n').update(stored).digest('base64url');
  return {
    link,
    matches(prev, stored, given) {
      const expected = Buffer.from(link(prev, stored));
      const actual = Buffer.from(given);
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    },
  };
}
