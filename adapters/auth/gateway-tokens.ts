/**
 * The gateway's own access tokens (OAuth 2.0 client credentials, RFC 9068 shape), and the one
 * place a bearer JWT is checked: by its issuer it goes to the gateway's key or to a configured
 * identity provider.
 */
import { createHash, randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { SCOPES } from '../../src/domain/access';
import type { ClientInfo, ClientRegistry, Principal, Scope, TokenService } from '../../src/domain/access';
import { ContinuumError } from '../../src/domain/errors';
import { createIdentityProviderVerifier } from './identity-provider';
import type { IdentityProviderConfig, IdentityProviderVerifier } from './identity-provider';
import { readUnverifiedIssuer } from './jws-shape';
import { scopesOfClaim } from './scope-claim';
import { SIGNING_ALGORITHM } from './signing-keys';
import type { SigningKey } from './signing-keys';
import { invalidToken } from './token-errors';

export type { IdentityProviderConfig } from './identity-provider';

/** The `aud` of every token the gateway issues, whatever its issuer. */
export const TOKEN_AUDIENCE = 'continuum';

/** RFC 9068: marks an access token, so no other JWT signed with the same key can pass for one. */
const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface TokenServiceOptions {
  readonly signingKey: SigningKey;
  /** `auth.issuer`. */
  readonly issuer: string;
  /** `auth.tokenTtlSeconds`. */
  readonly ttlSeconds: number;
  readonly registry: ClientRegistry;
  /** `auth.identityProviders`. */
  readonly identityProviders: readonly IdentityProviderConfig[];
  readonly now?: () => Date;
}

export function createTokenService(options: TokenServiceOptions): TokenService {
  const { signingKey, issuer, ttlSeconds, registry } = options;
  const now = options.now ?? (() => new Date());
  const providers = providersByIssuer(options.identityProviders, issuer, now);
  const jwks = Object.freeze({ keys: Object.freeze([signingKey.publicJwk]) });

  /**
   * Tokens whose signature and claims were checked, by hash, until they expire: an ES256 check
   * costs about as much as a tenth of a lookup, and a client sends the same token for minutes.
   * Only the signature check is skipped: expiry and the client's current record are checked on
   * every request.
   */
  const verified = new LRUCache<string, JWTPayload>({ max: 10_000 });

  async function checkedPayload(token: string): Promise<JWTPayload> {
    const digest = createHash('sha256').update(token).digest('base64url');
    const known = verified.get(digest);
    if (known !== undefined) {
      if ((known.exp ?? 0) * 1000 > now().getTime()) return known;
      verified.delete(digest);
      throw invalidToken();
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, signingKey.publicKey, {
        issuer,
        audience: TOKEN_AUDIENCE,
        algorithms: [SIGNING_ALGORITHM],
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ['exp', 'sub'],
        currentDate: now(),
      }));
    } catch {
      throw invalidToken();
    }
    verified.set(digest, payload);
    return payload;
  }

  async function verifyOwn(token: string): Promise<Principal> {
    const payload = await checkedPayload(token);
    if (typeof payload.sub !== 'string') throw invalidToken();
    // A registry that cannot answer is not a bad token: its error goes up as it is.
    const client = await registry.active(payload.sub);
    if (client === undefined) throw invalidToken();
    // The client record, not the token, says what the client may do now: a scope taken away or a
    // tenant changed since the token was issued takes effect at once.
    const granted = scopesOfClaim(payload.scope);
    const current = new Set(client.scopes);
    return {
      clientId: client.id,
      tenant: client.tenant,
      scopes: new Set([...granted].filter((scope) => current.has(scope))),
      method: 'oauth-token',
    };
  }

  return {
    async issue(client, requestedScopes) {
      if (client.revokedAt !== undefined) {
        throw new ContinuumError('UNAUTHORIZED', {
          detail: 'the client is revoked',
          extra: { oauthError: 'invalid_client' },
        });
      }
      const scopes = grantedScopes(client, requestedScopes);
      const issuedAt = Math.floor(now().getTime() / 1000);
      const accessToken = await new SignJWT({
        client_id: client.id,
        tenant: client.tenant,
        scope: scopes.join(' '),
      })
        .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: signingKey.kid, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(issuer)
        .setAudience(TOKEN_AUDIENCE)
        .setSubject(client.id)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ttlSeconds)
        .setJti(randomUUID())
        .sign(signingKey.privateKey);
      return { accessToken, expiresIn: ttlSeconds, scopes };
    },

    jwks() {
      return jwks;
    },

    async verify(token) {
      const shape = readUnverifiedIssuer(token);
      if (shape === undefined) return undefined;
      if (shape.issuer === issuer) return verifyOwn(token);
      const provider = shape.issuer === undefined ? undefined : providers.get(shape.issuer);
      if (provider === undefined) throw invalidToken();
      return provider.verify(token);
    },
  };
}

/**
 * The scopes a token gets: all of the client's when none are asked for, else exactly those asked
 * for, each of which the client must hold (RFC 6749 `invalid_scope` otherwise).
 */
function grantedScopes(client: ClientInfo, requested: readonly Scope[] | undefined): Scope[] {
  const held = new Set<string>(client.scopes);
  const wanted = new Set<string>(requested ?? client.scopes);
  const refused = [...wanted].filter((scope) => !held.has(scope));
  if (refused.length > 0) {
    throw new ContinuumError('VALIDATION', {
      detail: `the client may not request ${refused.join(', ')}`,
      extra: { oauthError: 'invalid_scope' },
    });
  }
  return SCOPES.filter((scope) => wanted.has(scope));
}

function providersByIssuer(
  configs: readonly IdentityProviderConfig[],
  ownIssuer: string,
  now: () => Date,
): ReadonlyMap<string, IdentityProviderVerifier> {
  const providers = new Map<string, IdentityProviderVerifier>();
  for (const config of configs) {
    // A token is routed by its issuer alone, so two sources of tokens cannot share one.
    if (config.issuer === ownIssuer || providers.has(config.issuer)) {
      throw new Error(
        `identity provider ${config.name}: issuer ${config.issuer} is already the gateway's or another provider's`,
      );
    }
    providers.set(config.issuer, createIdentityProviderVerifier(config, now));
  }
  return providers;
}
