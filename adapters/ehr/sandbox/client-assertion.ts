/**
 * The SMART Backend Services check of a `private_key_jwt` client assertion, rule by rule, as an EHR
 * applies it before issuing a token: signed with an allowed algorithm by a key of the client's
 * published JWKS (named by `kid`), issued by and about the client, addressed to this token
 * endpoint, short-lived, and used once.
 */
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import type { AssertionAlgorithm } from './auth-options';
import { AssertionReplay } from './assertion-replay';

/** The longest lifetime SMART Backend Services lets an assertion have. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;

export type AssertionVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface ClientAssertionCheck {
  verify(assertion: string, tokenEndpointUrl: string): Promise<AssertionVerdict>;
}

export function createClientAssertionCheck(options: {
  readonly clientId: string;
  readonly jwksUrl: string;
  readonly algorithms: readonly AssertionAlgorithm[];
  readonly now: () => number;
}): ClientAssertionCheck {
  // Cached; a kid the cached set does not hold makes jose fetch it again (key rotation), at most
  // once per cooldown, as EHRs re-read a client's JWKS URL.
  const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(options.jwksUrl), {
    timeoutDuration: 3000,
    cooldownDuration: 1000,
    cacheMaxAge: 10 * 60_000,
  });
  const replay = new AssertionReplay(options.now);
  const refuse = (reason: string): AssertionVerdict => ({ ok: false, reason });

  return {
    verify: async (assertion, tokenEndpointUrl) => {
      let alg: unknown;
      let kid: unknown;
      let claims: ReturnType<typeof decodeJwt>;
      try {
        ({ alg, kid } = decodeProtectedHeader(assertion));
        claims = decodeJwt(assertion);
      } catch {
        return refuse('client_assertion is not a JWT');
      }
      if (typeof alg !== 'string' || !(options.algorithms as readonly string[]).includes(alg)) {
        return refuse(`alg must be one of ${options.algorithms.join(', ')}`);
      }
      if (typeof kid !== 'string' || kid === '') return refuse('the assertion header has no kid');
      if (claims.iss !== options.clientId || claims.sub !== options.clientId) {
        return refuse('iss and sub must both be the client_id');
      }
      const nowMs = options.now();
      try {
        await jwtVerify(assertion, keys, {
          algorithms: [...options.algorithms],
          issuer: options.clientId,
          subject: options.clientId,
          audience: tokenEndpointUrl,
          requiredClaims: ['exp', 'jti'],
          currentDate: new Date(nowMs),
        });
      } catch (error) {
        return refuse(reasonOf(error));
      }
      const exp = claims.exp ?? 0;
      const from = Math.max(nowMs / 1000, typeof claims.iat === 'number' ? claims.iat : 0);
      if (exp - from > MAX_ASSERTION_LIFETIME_SECONDS) {
        return refuse(`exp must be at most ${MAX_ASSERTION_LIFETIME_SECONDS} seconds after iat and now`);
      }
      if (typeof claims.jti !== 'string' || claims.jti === '') return refuse('jti must be a string');
      if (!replay.firstUse(options.clientId, claims.jti, exp * 1000)) {
        return refuse('this jti was already used');
      }
      return { ok: true };
    },
  };
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the client JWKS matches the kid';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify';
  if (error instanceof errors.JWTExpired) return 'the assertion has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.claim === 'aud'
      ? 'aud must be the token endpoint URL'
      : `claim ${error.claim}: ${error.reason}`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the algorithm is not allowed';
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return "the client's JWKS could not be read";
  }
  if (error instanceof errors.JOSEError) return `the assertion is not valid (${error.code})`;
  // A fetch that failed outright (the JWKS host is down).
  return "the client's JWKS could not be read";
}
