import { isScope } from '../../src/domain/access';
import type { Scope } from '../../src/domain/access';

/**
 * The known scopes a token's scope claim grants: a space-separated string (RFC 9068 `scope`) or an
 * array of strings (Entra ID and Okta `scp`). Scopes Continuum does not know are ignored, so a
 * provider may grant scopes meant for other applications in the same token.
 */
export function scopesOfClaim(claim: unknown): Set<Scope> {
  const values = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
  const scopes = new Set<Scope>();
  for (const value of values) {
    if (typeof value === 'string' && isScope(value)) scopes.add(value);
  }
  return scopes;
}
