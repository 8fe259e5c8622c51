/**
 * A center that runs its own identity provider (Okta, Entra ID, Keycloak) sends its JWTs to the
 * API as bearer tokens: the gateway checks them against the provider's key set and confines the
 * caller to the tenant configured for that provider, with the scopes the token grants.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { http } from '../support/http';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';

const ISSUER = 'https://center.okta.example/oauth2/default';
const AUDIENCE = 'api://continuum';

let jwks: Server;
let privateKey: CryptoKey;
let api: InProcessApi;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'okta-1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const { port } = jwks.address() as AddressInfo;
  api = await startInProcessApi({
    overrides: {
      sandbox: { enabled: true },
      connections: { sandbox: {}, other: {} },
      tenants: { default: { connections: ['sandbox'] }, center: { connections: ['other'] } },
      auth: {
        identityProviders: [
          {
            name: 'okta',
            issuer: ISSUER,
            jwksUrl: `http://127.0.0.1:${port}/keys`,
            audience: AUDIENCE,
            tenant: 'center',
            scopeClaim: 'scp',
            clientIdClaim: 'cid',
          },
        ],
      },
    },
  });
});
afterAll(async () => {
  await api.stop();
  jwks.closeAllConnections();
  await new Promise((resolve) => jwks.close(resolve));
});

function token(claims: Record<string, unknown>, audience = AUDIENCE): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ cid: 'genesys-desk', scp: ['patients:read'], ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'okta-1' })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setSubject('0oa1b2c3')
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(privateKey);
}

const lookup = (bearer: string, connection?: string) =>
  http(
    'GET',
    `${api.url}/v1/patients/lookup?phone=6175550100${connection ? `&connection=${connection}` : ''}`,
    {
      headers: { authorization: `Bearer ${bearer}` },
    },
  );

it("serves a provider's token in the provider's tenant, with the token's scopes and nothing more", async () => {
  const good = await token({});
  const served = await lookup(good);
  expect(served.status).toBe(200);
  // The tenant's own connection is its default; another tenant's is unknown to it.
  expect((await lookup(good, 'sandbox')).status).toBe(404);
  // A scope the token does not grant: 403, even though the route exists.
  const booking = await http('POST', `${api.url}/v1/calls`, {
    headers: { authorization: `Bearer ${good}` },
    body: { direction: 'inbound', startedAt: '2026-11-27T14:00:00Z' },
  });
  expect(booking.status).toBe(403);
  // The provider's writes are confined too: its receipts are not the default tenant's.
  const withCalls = await token({ scp: ['calls:write', 'operations:read'] });
  const call = await http('POST', `${api.url}/v1/calls`, {
    headers: { authorization: `Bearer ${withCalls}` },
    body: { direction: 'inbound', startedAt: '2026-11-27T14:00:00Z' },
  });
  expect(call.status).toBe(202);
  const stored = await api.rig.deps.store.get(call.body.operationId as string);
  expect(stored?.owner).toEqual({ clientId: 'okta:genesys-desk', tenant: 'center' });
  expect((await http('GET', `${api.url}/v1/operations/${call.body.operationId as string}`)).status).toBe(404);
});

it('refuses a token for another audience, a forged one and an expired one with 401', async () => {
  const other = await token({}, 'api://someone-else');
  const forged = `${(await token({})).slice(0, -6)}AAAAAA`;
  const now = Math.floor(Date.now() / 1000);
  const expired = await new SignJWT({ cid: 'genesys-desk', scp: ['patients:read'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'okta-1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('0oa1b2c3')
    .setIssuedAt(now - 3600)
    .setExpirationTime(now - 600)
    .sign(privateKey);
  for (const bad of [other, forged, expired]) {
    const res = await lookup(bad);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  }
});
