import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { createTokenService } from '../../adapters/auth/gateway-tokens';
import type { IdentityProviderConfig } from '../../adapters/auth/gateway-tokens';
import { generateSigningKey } from '../../adapters/auth/signing-keys';
import type { ClientRegistry, TokenService } from '../../src/domain/access';
import { ContinuumError } from '../../src/domain/errors';

const OKTA_ISSUER = 'https://center.okta.example/oauth2/default';
const ENTRA_ISSUER = 'https://login.example.com/tenant-1/v2.0';

/** The identity-provider path never asks the registry: one that throws proves it. */
const noRegistry = new Proxy({} as ClientRegistry, {
  get: () => () => {
    throw new Error('the registry is not consulted for identity-provider tokens');
  },
});

interface ProviderKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function providerKey(kid: string): Promise<ProviderKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** A provider's JWKS endpoints on loopback, counting the fetches they answer. */
async function startJwksServer(sets: Record<string, JWK[]>): Promise<{
  server: Server;
  url: (path: string) => string;
  fetches: () => number;
}> {
  let fetches = 0;
  const server = createServer((request, response) => {
    const keys = sets[request.url ?? ''];
    if (keys === undefined) {
      response.writeHead(request.url === '/broken' ? 500 : 404).end();
      return;
    }
    fetches += 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: (path) => `http://127.0.0.1:${port}${path}`, fetches: () => fetches };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

function sign(key: ProviderKey, claims: JWTPayload, options: { expiresIn?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ iat: now, ...claims }).setProtectedHeader({
    alg: 'RS256',
    kid: key.publicJwk.kid!,
  });
  if (options.expiresIn !== undefined) jwt.setExpirationTime(now + options.expiresIn);
  return jwt.sign(key.privateKey);
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

describe('identity-provider tokens', () => {
  let okta: ProviderKey;
  let entra: ProviderKey;
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let oktaConfig: IdentityProviderConfig;
  let entraConfig: IdentityProviderConfig;
  let tokens: TokenService;

  async function service(providers: IdentityProviderConfig[]): Promise<TokenService> {
    return createTokenService({
      signingKey: await generateSigningKey(),
      issuer: 'continuum',
      ttlSeconds: 900,
      registry: noRegistry,
      identityProviders: providers,
    });
  }

  beforeAll(async () => {
    [okta, entra] = await Promise.all([providerKey('okta-1'), providerKey('entra-1')]);
    jwks = await startJwksServer({ '/okta/keys': [okta.publicJwk], '/entra/keys': [entra.publicJwk] });
    oktaConfig = {
      name: 'okta',
      issuer: OKTA_ISSUER,
      jwksUrl: jwks.url('/okta/keys'),
      audience: 'api://continuum',
      tenant: 'north',
      scopeClaim: 'scp',
      clientIdClaim: 'cid',
      clockToleranceSeconds: 30,
    };
    entraConfig = {
      name: 'entra',
      issuer: ENTRA_ISSUER,
      jwksUrl: jwks.url('/entra/keys'),
      audience: 'continuum-gateway',
      tenant: 'south',
      scopeClaim: 'scope',
      clientIdClaim: 'azp',
      clockToleranceSeconds: 0,
    };
  });

  beforeEach(async () => {
    tokens = await service([oktaConfig, entraConfig]);
  });

  afterAll(async () => {
    await stop(jwks.server);
  });

  it('accepts a token with an scp array: the provider’s tenant, its known scopes, <idp>:<client>', async () => {
    const token = await sign(
      okta,
      {
        iss: OKTA_ISSUER,
        aud: 'api://continuum',
        sub: 'agent-7@center.example',
        cid: '0oa1desk',
        scp: ['patients:read', 'calls:write', 'openid', 'profile'],
        // A claim of a tenant is not trusted: the configuration says which tenant a provider serves.
        tenant: 'south',
      },
      { expiresIn: 300 },
    );
    await expect(tokens.verify(token)).resolves.toEqual({
      clientId: 'okta:0oa1desk',
      tenant: 'north',
      scopes: new Set(['patients:read', 'calls:write']),
      method: 'identity-provider',
    });
  });

  it('accepts a token with a space-separated scope string, from the provider its issuer names', async () => {
    const token = await sign(
      entra,
      {
        iss: ENTRA_ISSUER,
        aud: 'continuum-gateway',
        azp: 'desk-app',
        scope: 'appointments:read  appointments:write email',
      },
      { expiresIn: 300 },
    );
    await expect(tokens.verify(token)).resolves.toEqual({
      clientId: 'entra:desk-app',
      tenant: 'south',
      scopes: new Set(['appointments:read', 'appointments:write']),
      method: 'identity-provider',
    });
  });

  it('fetches a provider’s keys once for many tokens', async () => {
    const fresh = await service([oktaConfig]);
    const before = jwks.fetches();
    for (let i = 0; i < 3; i += 1) {
      const token = await sign(
        okta,
        { iss: OKTA_ISSUER, aud: 'api://continuum', cid: `app-${i}`, scp: 'patients:read' },
        { expiresIn: 300 },
      );
      await expect(fresh.verify(token)).resolves.toMatchObject({ clientId: `okta:app-${i}` });
    }
    expect(jwks.fetches() - before).toBe(1);
  });

  it('refuses a token for another audience', async () => {
    const token = await sign(
      okta,
      { iss: OKTA_ISSUER, aud: 'api://payroll', cid: '0oa1desk', scp: ['patients:read'] },
      { expiresIn: 300 },
    );
    const error = await refusal(tokens.verify(token));
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.detail).toBe('the access token is not valid');
    expect(error.extra).toEqual({ oauthError: 'invalid_token' });
  });

  it('refuses a token of an issuer no provider is configured for, even signed by a known key', async () => {
    const token = await sign(
      okta,
      { iss: 'https://elsewhere.okta.example', aud: 'api://continuum', cid: 'x', scp: ['patients:read'] },
      { expiresIn: 300 },
    );
    expect((await refusal(tokens.verify(token))).detail).toBe('the access token is not valid');
  });

  it('refuses a token naming one provider but signed with the other provider’s key', async () => {
    const token = await sign(
      { privateKey: entra.privateKey, publicJwk: okta.publicJwk },
      { iss: OKTA_ISSUER, aud: 'api://continuum', cid: 'x', scp: ['patients:read'] },
      { expiresIn: 300 },
    );
    expect((await refusal(tokens.verify(token))).code).toBe('UNAUTHORIZED');
  });

  it('refuses a token signed by a key the provider does not publish (unknown kid)', async () => {
    const rogue = await providerKey('not-published');
    const token = await sign(
      rogue,
      { iss: OKTA_ISSUER, aud: 'api://continuum', cid: 'x', scp: ['patients:read'] },
      { expiresIn: 300 },
    );
    const error = await refusal(tokens.verify(token));
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.detail).toBe('the access token is not valid');
  });

  it('refuses a token that never expires, or expired beyond the clock tolerance', async () => {
    const claims = { iss: OKTA_ISSUER, aud: 'api://continuum', cid: 'x', scp: ['patients:read'] };
    expect((await refusal(tokens.verify(await sign(okta, claims)))).code).toBe('UNAUTHORIZED');
    expect((await refusal(tokens.verify(await sign(okta, claims, { expiresIn: -60 })))).code).toBe(
      'UNAUTHORIZED',
    );
    // Ten seconds late is within the 30 s this provider is allowed.
    await expect(tokens.verify(await sign(okta, claims, { expiresIn: -10 }))).resolves.toBeDefined();
  });

  it('refuses a token without the claim that names the calling application', async () => {
    const token = await sign(
      okta,
      { iss: OKTA_ISSUER, aud: 'api://continuum', sub: 'agent-7', scp: ['patients:read'] },
      { expiresIn: 300 },
    );
    expect((await refusal(tokens.verify(token))).code).toBe('UNAUTHORIZED');
  });

  it('refuses an HMAC token made with the provider’s public key as its secret', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(okta.publicJwk));
    const token = await new SignJWT({
      iss: OKTA_ISSUER,
      aud: 'api://continuum',
      cid: 'x',
      scp: ['patients:read'],
    })
      .setProtectedHeader({ alg: 'HS256', kid: 'okta-1' })
      .setExpirationTime('5m')
      .sign(secret);
    expect((await refusal(tokens.verify(token))).code).toBe('UNAUTHORIZED');
  });

  it('answers UNAUTHORIZED, saying the keys could not be fetched, when the JWKS server is down', async () => {
    const gone = await startJwksServer({ '/keys': [okta.publicJwk] });
    const url = gone.url('/keys');
    await stop(gone.server);
    const verifier = await service([{ ...oktaConfig, jwksUrl: url }]);
    const token = await sign(
      okta,
      { iss: OKTA_ISSUER, aud: 'api://continuum', cid: '0oa1desk', scp: ['patients:read'] },
      { expiresIn: 300 },
    );

    const error = await refusal(verifier.verify(token));
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.status).toBe(401);
    expect(error.detail).toBe("the identity provider's keys could not be fetched");
    expect(error.extra).toEqual({ oauthError: 'invalid_token' });
    // The process is still serving: the next token is answered the same way, not with a crash.
    expect((await refusal(verifier.verify(token))).detail).toBe(
      "the identity provider's keys could not be fetched",
    );
  });

  it('answers the same when the provider’s JWKS endpoint fails', async () => {
    const verifier = await service([{ ...oktaConfig, jwksUrl: jwks.url('/broken') }]);
    const token = await sign(
      okta,
      { iss: OKTA_ISSUER, aud: 'api://continuum', cid: '0oa1desk', scp: ['patients:read'] },
      { expiresIn: 300 },
    );
    expect((await refusal(verifier.verify(token))).detail).toBe(
      "the identity provider's keys could not be fetched",
    );
  });

  it('never puts the token or its claims in the error', async () => {
    const token = await sign(
      okta,
      { iss: OKTA_ISSUER, aud: 'api://payroll', sub: 'Jane.Roe@center.example', cid: '0oa1desk', scp: 'x' },
      { expiresIn: 300 },
    );
    const error = await refusal(tokens.verify(token));
    const shown = [error.message, error.detail, JSON.stringify(error), JSON.stringify(error.extra)].join(' ');
    for (const secret of [token, token.split('.')[1]!, 'Jane.Roe', '0oa1desk', 'api://payroll']) {
      expect(shown).not.toContain(secret);
    }
    expect(error.cause).toBeUndefined();
  });

  it('refuses at start-up a provider whose issuer is the gateway’s own', async () => {
    await expect(service([{ ...oktaConfig, issuer: 'continuum' }])).rejects.toThrow(/issuer/);
  });
});
