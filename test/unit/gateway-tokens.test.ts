import { base64url, decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { createTokenService, TOKEN_AUDIENCE } from '../../adapters/auth/gateway-tokens';
import { generateSigningKey } from '../../adapters/auth/signing-keys';
import type { SigningKey } from '../../adapters/auth/signing-keys';
import type { ClientInfo, ClientRegistry, Scope, TokenService } from '../../src/domain/access';
import { ContinuumError } from '../../src/domain/errors';

const ISSUER = 'https://gateway.example.org';
const TTL = 900;
const T0 = new Date('2026-03-02T09:00:00Z');

function client(overrides: Partial<ClientInfo> = {}): ClientInfo {
  return {
    id: 'cl_desk',
    name: 'front-desk',
    tenant: 'north',
    scopes: ['patients:read', 'appointments:read', 'appointments:write'],
    createdAt: '2026-03-01T00:00:00Z',
    revokedAt: undefined,
    keys: [],
    ...overrides,
  };
}

/** The registry port, held in memory: `active` answers from `clients` as it is at the call. */
function fakeRegistry(clients: Map<string, ClientInfo>): ClientRegistry {
  const unused = (): never => {
    throw new Error('not used by the token service');
  };
  return {
    create: unused,
    list: unused,
    find: unused,
    grant: unused,
    revoke: unused,
    rotate: unused,
    authenticate: unused,
    active(clientId) {
      const found = clients.get(clientId);
      return Promise.resolve(found?.revokedAt === undefined ? found : undefined);
    },
    close: () => Promise.resolve(),
  };
}

async function refusal(promise: Promise<unknown>): Promise<ContinuumError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ContinuumError) return error;
    throw error;
  }
  throw new Error('expected a refusal, the token was accepted');
}

describe('gateway access tokens', () => {
  let signingKey: SigningKey;
  let clients: Map<string, ClientInfo>;
  let clock: Date;
  let tokens: TokenService;

  beforeAll(async () => {
    signingKey = await generateSigningKey();
  });

  beforeEach(() => {
    clients = new Map([['cl_desk', client()]]);
    clock = T0;
    tokens = createTokenService({
      signingKey,
      issuer: ISSUER,
      ttlSeconds: TTL,
      registry: fakeRegistry(clients),
      identityProviders: [],
      now: () => clock,
    });
  });

  it('issues a signed token that verifies back to the client, its tenant and its scopes', async () => {
    const issued = await tokens.issue(client(), ['appointments:read', 'patients:read']);

    expect(issued.expiresIn).toBe(TTL);
    expect(issued.scopes).toEqual(['patients:read', 'appointments:read']);
    expect(decodeProtectedHeader(issued.accessToken)).toMatchObject({ alg: 'ES256', kid: signingKey.kid });
    const claims = decodeJwt(issued.accessToken);
    expect(claims).toMatchObject({
      iss: ISSUER,
      aud: TOKEN_AUDIENCE,
      sub: 'cl_desk',
      client_id: 'cl_desk',
      tenant: 'north',
      scope: 'patients:read appointments:read',
      iat: T0.getTime() / 1000,
      exp: T0.getTime() / 1000 + TTL,
    });
    expect(typeof claims.jti).toBe('string');

    clock = new Date(T0.getTime() + (TTL - 1) * 1000);
    const principal = await tokens.verify(issued.accessToken);
    expect(principal).toEqual({
      clientId: 'cl_desk',
      tenant: 'north',
      scopes: new Set(['patients:read', 'appointments:read']),
      method: 'oauth-token',
    });
  });

  it('gives every token its own id', async () => {
    const first = decodeJwt((await tokens.issue(client(), undefined)).accessToken);
    const second = decodeJwt((await tokens.issue(client(), undefined)).accessToken);
    expect(first.jti).not.toBe(second.jti);
  });

  it('grants all of the client’s scopes when none are asked for', async () => {
    const issued = await tokens.issue(client(), undefined);
    expect(issued.scopes).toEqual(['patients:read', 'appointments:read', 'appointments:write']);
    expect((await tokens.verify(issued.accessToken))?.scopes).toEqual(new Set(client().scopes));
  });

  it('refuses to issue a scope the client does not hold, as invalid_scope, and issues nothing', async () => {
    const error = await refusal(tokens.issue(client(), ['appointments:read', 'operations:admin']));
    expect(error.code).toBe('VALIDATION');
    expect(error.extra).toEqual({ oauthError: 'invalid_scope' });
    expect(error.detail).toContain('operations:admin');
    expect(error.detail).not.toContain('appointments:read');
  });

  it('refuses to issue for a revoked client', async () => {
    const error = await refusal(tokens.issue(client({ revokedAt: '2026-03-02T08:00:00Z' }), undefined));
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.extra).toEqual({ oauthError: 'invalid_client' });
  });

  it('refuses a token once it has expired', async () => {
    const { accessToken } = await tokens.issue(client(), undefined);
    clock = new Date(T0.getTime() + (TTL + 1) * 1000);
    const error = await refusal(tokens.verify(accessToken));
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.status).toBe(401);
    expect(error.extra).toEqual({ oauthError: 'invalid_token' });
  });

  it('still refuses a token it verified before, once it has expired or its client was revoked', async () => {
    const { accessToken } = await tokens.issue(client(), undefined);
    await expect(tokens.verify(accessToken)).resolves.toMatchObject({ clientId: 'cl_desk' });
    // The second check is served from the verified-token cache: expiry and revocation still apply.
    await expect(tokens.verify(accessToken)).resolves.toMatchObject({ clientId: 'cl_desk' });
    clients.set('cl_desk', client({ revokedAt: T0.toISOString() }));
    expect((await refusal(tokens.verify(accessToken))).code).toBe('UNAUTHORIZED');
    clients.set('cl_desk', client());
    clock = new Date(T0.getTime() + (TTL + 1) * 1000);
    expect((await refusal(tokens.verify(accessToken))).code).toBe('UNAUTHORIZED');
  });

  it('does not let a changed token ride on the verification of the genuine one', async () => {
    const { accessToken } = await tokens.issue(client(), ['patients:read']);
    await tokens.verify(accessToken);
    const [header, payload, signature] = accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as Record<string, unknown>;
    const widened = base64url.encode(JSON.stringify({ ...claims, scope: 'patients:read patients:write' }));
    expect((await refusal(tokens.verify(`${header}.${widened}.${signature}`))).code).toBe('UNAUTHORIZED');
  });

  it('refuses a token signed with the gateway key for another audience', async () => {
    const token = await ownKeyToken({ aud: 'another-api' });
    expect((await refusal(tokens.verify(token))).code).toBe('UNAUTHORIZED');
    // The same token with the right audience passes: the audience alone made the difference.
    await expect(tokens.verify(await ownKeyToken({}))).resolves.toMatchObject({ clientId: 'cl_desk' });
  });

  it('refuses a token with the gateway issuer and kid but signed by another key', async () => {
    const other = await generateSigningKey();
    const token = await new SignJWT({ scope: 'patients:read', client_id: 'cl_desk' })
      .setProtectedHeader({ alg: 'ES256', kid: signingKey.kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject('cl_desk')
      .setIssuedAt(T0)
      .setExpirationTime(new Date(T0.getTime() + 60_000))
      .sign(other.privateKey);
    expect((await refusal(tokens.verify(token))).code).toBe('UNAUTHORIZED');
  });

  it('refuses a token whose claims were changed after signing', async () => {
    const { accessToken } = await tokens.issue(client(), ['patients:read']);
    const [header, payload, signature] = accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as Record<string, unknown>;
    const widened = base64url.encode(
      JSON.stringify({ ...claims, scope: 'patients:read appointments:write' }),
    );
    const error = await refusal(tokens.verify(`${header}.${widened}.${signature}`));
    expect(error.code).toBe('UNAUTHORIZED');
  });

  it('refuses an unsigned token (alg none) that claims the gateway as issuer', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }));
    const payload = base64url.encode(
      JSON.stringify({ iss: ISSUER, aud: TOKEN_AUDIENCE, sub: 'cl_desk', scope: 'patients:read', exp: 2e9 }),
    );
    expect((await refusal(tokens.verify(`${header}.${payload}.`))).code).toBe('UNAUTHORIZED');
  });

  it('refuses a token of an issuer it does not know', async () => {
    const token = await ownKeyToken({ iss: 'https://someone-else.example.org' });
    expect((await refusal(tokens.verify(token))).code).toBe('UNAUTHORIZED');
  });

  it('refuses the token of a client revoked after it was issued', async () => {
    const { accessToken } = await tokens.issue(client(), undefined);
    clients.set('cl_desk', client({ revokedAt: '2026-03-02T09:01:00Z' }));
    const error = await refusal(tokens.verify(accessToken));
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.extra).toEqual({ oauthError: 'invalid_token' });
  });

  it('narrows a token to the scopes the client still holds, and takes the tenant from the client', async () => {
    const { accessToken } = await tokens.issue(client(), undefined);
    clients.set('cl_desk', client({ tenant: 'south', scopes: ['appointments:read', 'operations:read'] }));
    const principal = await tokens.verify(accessToken);
    // operations:read was granted to the client later: a token issued before does not carry it.
    expect(principal?.scopes).toEqual(new Set<Scope>(['appointments:read']));
    expect(principal?.tenant).toBe('south');
  });

  it('lets an error of the registry through rather than calling the token invalid', async () => {
    const { accessToken } = await tokens.issue(client(), undefined);
    const failing: ClientRegistry = {
      ...fakeRegistry(clients),
      active: () => Promise.reject(new ContinuumError('NOT_READY')),
    };
    const service = createTokenService({
      signingKey,
      issuer: ISSUER,
      ttlSeconds: TTL,
      registry: failing,
      identityProviders: [],
      now: () => clock,
    });
    expect((await refusal(service.verify(accessToken))).code).toBe('NOT_READY');
  });

  it.each([
    ['an API key', 'ck_live_3q2+7wVb9xLr0PaT4mZk'],
    ['a dotted key', 'cl_desk.s3cr3tpart.more'],
    ['three parts that are not JSON', 'abc.def.ghi'],
    ['a header without alg', `${base64url.encode('{"typ":"JWT"}')}.${base64url.encode('{}')}.sig`],
    ['an empty string', ''],
  ])('answers undefined, not an error, for %s', async (_what, bearer) => {
    await expect(tokens.verify(bearer)).resolves.toBeUndefined();
  });

  it('never puts the token or its claims in the error', async () => {
    const { accessToken } = await tokens.issue(client(), undefined);
    clock = new Date(T0.getTime() + (TTL + 1) * 1000);
    const expired = await refusal(tokens.verify(accessToken));
    const foreign = await refusal(tokens.verify(await ownKeyToken({ iss: 'https://x.example.org' })));
    for (const error of [expired, foreign]) {
      const shown = [error.message, error.detail, JSON.stringify(error), JSON.stringify(error.extra)].join(
        ' ',
      );
      expect(shown).not.toContain(accessToken);
      expect(shown).not.toContain(accessToken.split('.')[1]);
      expect(shown).not.toContain('cl_desk');
      expect(shown).not.toContain('x.example.org');
      expect(error.cause).toBeUndefined();
    }
  });

  it('publishes the public key, and only the public key, as its JWKS', () => {
    const { keys } = tokens.jwks();
    expect(keys).toEqual([
      expect.objectContaining({ kty: 'EC', crv: 'P-256', kid: signingKey.kid, alg: 'ES256', use: 'sig' }),
    ]);
    expect(keys[0]).not.toHaveProperty('d');
  });

  /** A token signed with the gateway's own key, with some claims chosen by the test. */
  function ownKeyToken(claims: { aud?: string; iss?: string }): Promise<string> {
    return new SignJWT({ scope: 'patients:read', client_id: 'cl_desk' })
      .setProtectedHeader({ alg: 'ES256', kid: signingKey.kid, typ: 'at+jwt' })
      .setIssuer(claims.iss ?? ISSUER)
      .setAudience(claims.aud ?? TOKEN_AUDIENCE)
      .setSubject('cl_desk')
      .setIssuedAt(T0)
      .setExpirationTime(new Date(T0.getTime() + 60_000))
      .sign(signingKey.privateKey);
  }
});
