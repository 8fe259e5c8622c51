import { decodeJwt, decodeProtectedHeader } from 'jose';

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Reads, without verifying anything, whether a bearer string is a JWT and which issuer it claims:
 * `undefined` for anything else (an API key shares the Authorization header). A JWT whose claims
 * cannot be read is still a JWT, answered with `issuer: undefined` so that it is refused as one.
 */
export function readUnverifiedIssuer(token: string): { readonly issuer: string | undefined } | undefined {
  if (!COMPACT_JWS.test(token)) return undefined;
  try {
    const header = decodeProtectedHeader(token);
    if (typeof header.alg !== 'string') return undefined;
  } catch {
    return undefined;
  }
  try {
    const { iss } = decodeJwt(token);
    return { issuer: typeof iss === 'string' ? iss : undefined };
  } catch {
    return { issuer: undefined };
  }
}
