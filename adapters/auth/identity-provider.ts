/**
 * Accepts the JWTs of a center's own identity provider (Okta, Entra ID, Keycloak) as bearer tokens,
 * confined to the tenant the configuration gives that provider.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { Principal } from '../../src/domain/access';
import { scopesOfClaim } from './scope-claim';
import { invalidToken, keysUnavailable } from './token-errors';

/** One entry of `auth.identityProviders` in the configuration. */
export interface IdentityProviderConfig {
  readonly name: string;
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly audience: string;
  readonly tenant: string;
  readonly scopeClaim: string;
  readonly clientIdClaim: string;
  readonly clockToleranceSeconds: number;
}

export interface IdentityProviderVerifier {
  readonly issuer: string;
  /** The principal the token names; throws ContinuumError UNAUTHORIZED when it is not valid. */
  verify(token: string): Promise<Principal>;
}

/**
 * Only signatures with a public key: a provider's JWKS never holds a shared secret, and refusing
 * HS* outright leaves no room for a token "signed" with a public key as an HMAC secret.
 */
const PROVIDER_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/**
 * A JWKS is a small static document: a provider that cannot serve it in this time is down, and the
 * caller (often an IVR that gives up after a few seconds) still has the EHR to wait for.
 */
const JWKS_TIMEOUT_MS = 2000;

/** What the JWKS lookup throws when the token, not the provider, is at fault (unknown kid, bad alg). */
const TOKEN_FAULTS = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWS_INVALID',
]);

class KeysUnavailable extends Error {}

export function createIdentityProviderVerifier(
  provider: IdentityProviderConfig,
  now: () => Date,
): IdentityProviderVerifier {
  // One key set per provider for the life of the process: it caches the keys and refetches them
  // only when they are stale or a token names a kid it does not hold.
  const keySet = createRemoteJWKSet(new URL(provider.jwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS });
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await keySet(header, token);
    } catch (error) {
      if (TOKEN_FAULTS.has(errorCode(error))) throw error;
      throw new KeysUnavailable(undefined, { cause: error });
    }
  };

  return {
    issuer: provider.issuer,
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          issuer: provider.issuer,
          audience: provider.audience,
          algorithms: PROVIDER_ALGORITHMS,
          clockTolerance: provider.clockToleranceSeconds,
          // A token without an expiry would be good forever.
          requiredClaims: ['exp'],
          currentDate: now(),
        }));
      } catch (error) {
        if (error instanceof KeysUnavailable) throw keysUnavailable(error.cause);
        throw invalidToken();
      }
      const caller = payload[provider.clientIdClaim];
      if (typeof caller !== 'string' || caller === '') throw invalidToken();
      return {
        clientId: `${provider.name}:${caller}`,
        tenant: provider.tenant,
        scopes: scopesOfClaim(payload[provider.scopeClaim]),
        method: 'identity-provider',
      };
    },
  };
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}
