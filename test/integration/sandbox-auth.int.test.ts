/**
 * The stand-alone sandbox as an EHR that requires OAuth: SMART Backend Services (signed client
 * assertions checked against the client's JWKS URL) and client secrets (Basic or in the body), short
 * tokens on the FHIR API, and the drills of the control API (revoke, restore, invalidate tokens).
 */
import { randomUUID } from 'node:crypto';
import { startSandboxServer, type SandboxServer } from '../../adapters/ehr/sandbox';
import {
  assertionForm,
  clientAssertion,
  hostJwks,
  requestToken,
  signingKey,
  type AssertionOptions,
  type JwksHost,
  type SigningKey,
} from '../support/backend-services-client';
import { waitFor } from '../support/wait-for';

const CLIENT_ID = 'continuum-backend';
const LIFETIME_SECONDS = 2;

let es384: SigningKey;
let rs384: SigningKey;
let jwks: JwksHost;
let server: SandboxServer;
let adminUrl: string;

beforeAll(async () => {
  es384 = await signingKey('ES384', 'es-1');
  rs384 = await signingKey('RS384', 'rs-1');
  jwks = await hostJwks([es384, rs384]);
  server = await startSandboxServer({
    port: 0,
    patientCount: 10,
    auth: {
      mode: 'smart-backend',
      clientId: CLIENT_ID,
      jwksUrl: jwks.url,
      tokenLifetimeSeconds: LIFETIME_SECONDS,
      scopes: ['system/Patient.rs', 'system/Slot.read', 'system/Appointment.cruds'],
    },
  });
  adminUrl = new URL('/sandbox/admin/auth', server.url).toString();
});

afterAll(async () => {
  await server.close();
  await jwks.close();
});

const assertion = (overrides: Partial<AssertionOptions> = {}): Promise<string> =>
  clientAssertion({ clientId: CLIENT_ID, audience: server.tokenUrl, key: es384, ...overrides });

async function token(overrides: Partial<AssertionOptions> = {}, scope?: string): Promise<string> {
  const answer = await requestToken(server.tokenUrl, assertionForm(await assertion(overrides), scope));
  if (answer.status !== 200) throw new Error(`token refused: ${JSON.stringify(answer.body)}`);
  return answer.body.access_token as string;
}

const readPatient = (bearer?: string): Promise<Response> =>
  fetch(`${server.url}/Patient/pat-0001`, {
    headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
  });

async function control(body?: unknown): Promise<any> {
  const res = await fetch(adminUrl, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

describe('discovery', () => {
  it('publishes its SMART configuration and CapabilityStatement without a token', async () => {
    const res = await fetch(`${server.url}/.well-known/smart-configuration`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      token_endpoint: server.tokenUrl,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      grant_types_supported: ['client_credentials'],
      scopes_supported: ['system/Patient.rs', 'system/Slot.read', 'system/Appointment.cruds'],
      capabilities: ['client-confidential-asymmetric'],
    });
    expect(server.tokenUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sandbox\/auth\/token$/);
    const metadata = await fetch(`${server.url}/metadata`);
    expect(metadata.status).toBe(200);
    const security = ((await metadata.json()) as any).rest[0].security;
    expect(security.service[0].coding[0].code).toBe('SMART-on-FHIR');
    expect(security.extension[0]).toEqual({
      url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
      extension: [{ url: 'token', valueUri: server.tokenUrl }],
    });
  });
});

describe('the FHIR API', () => {
  it('answers 401 invalid_token with an OperationOutcome without a token or with one it did not issue', async () => {
    const before = (await control()).counters.unauthorized as number;
    for (const bearer of [undefined, 'not-a-token-it-issued', '']) {
      const res = await readPatient(bearer);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(
        'Bearer realm="continuum-sandbox", error="invalid_token"',
      );
      const body: any = await res.json();
      expect(body.resourceType).toBe('OperationOutcome');
      expect(JSON.stringify(body)).not.toContain('pat-0001');
    }
    const search = await fetch(`${server.url}/Patient?family=Smith`);
    expect(search.status).toBe(401);
    const write = await fetch(`${server.url}/Patient`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Nobody' }] }),
    });
    expect(write.status).toBe(401);
    expect((await control()).counters.unauthorized).toBe(before + 5);
    expect(server.faults.get().counters.seen).toBeGreaterThan(0);
  });

  it('serves a client holding a token it issued, signed with either algorithm', async () => {
    for (const key of [es384, rs384]) {
      const res = await readPatient(await token({ key }));
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).id).toBe('pat-0001');
    }
  });

  it('refuses a token once its lifetime has passed, not before', async () => {
    const answer = await requestToken(server.tokenUrl, assertionForm(await assertion()));
    const issuedAt = Date.now();
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      access_token: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/),
      token_type: 'bearer',
      expires_in: LIFETIME_SECONDS,
      scope: 'system/Patient.rs system/Slot.read system/Appointment.cruds',
    });
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const bearer = answer.body.access_token as string;
    expect((await readPatient(bearer)).status).toBe(200);
    const refusedAt = await waitFor(
      async () => ((await readPatient(bearer)).status === 401 ? Date.now() : undefined),
      { timeoutMs: LIFETIME_SECONDS * 1000 + 3000, intervalMs: 100, what: 'the token to expire' },
    );
    expect(refusedAt - issuedAt).toBeGreaterThanOrEqual(LIFETIME_SECONDS * 1000 - 100);
  });
});

describe('private_key_jwt assertions', () => {
  const refusals: [string, () => Promise<Record<string, string>>, RegExp][] = [
    [
      'a bad signature',
      async () => {
        const impostor = await signingKey('ES384', 'es-1');
        return assertionForm(await assertion({ key: impostor }));
      },
      /signature/,
    ],
    [
      'an unknown kid',
      async () => assertionForm(await assertion({ header: { kid: 'nobody-knows' } })),
      /kid/,
    ],
    ['no kid', async () => assertionForm(await assertion({ header: { kid: undefined } })), /kid/],
    ['a wrong aud', async () => assertionForm(await assertion({ audience: `${server.url}/token` })), /aud/],
    [
      'iss other than sub',
      async () => assertionForm(await assertion({ issuer: 'someone-else' })),
      /iss and sub/,
    ],
    [
      'sub other than the client',
      async () => assertionForm(await assertion({ subject: 'x' })),
      /iss and sub/,
    ],
    [
      'exp more than 5 minutes ahead',
      async () => assertionForm(await assertion({ expiresIn: 301 + 60 })),
      /exp must be at most 300/,
    ],
    [
      'an expired assertion',
      async () => assertionForm(await assertion({ issuedAt: -200, expiresIn: -30 })),
      /expired/,
    ],
    ['no exp', async () => assertionForm(await assertion({ omit: ['exp'] })), /exp/],
    ['no jti', async () => assertionForm(await assertion({ omit: ['jti'] })), /jti/],
    [
      'an algorithm not allowed',
      async () => {
        const es256 = await signingKey('ES256', 'es-1');
        return assertionForm(await assertion({ key: es256 }));
      },
      /alg must be one of RS384, ES384/,
    ],
    [
      'a wrong client_assertion_type',
      async () => ({
        ...assertionForm(await assertion()),
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
      }),
      /client_assertion_type/,
    ],
    [
      'a client secret instead',
      () =>
        Promise.resolve({
          grant_type: 'client_credentials',
          client_id: CLIENT_ID,
          client_secret: 'x'.repeat(20),
        }),
      /signed assertion/,
    ],
  ];

  it.each(refusals)('refuses %s with invalid_client and issues nothing', async (_name, form, reason) => {
    const before = (await control()).counters;
    const answer = await requestToken(server.tokenUrl, await form());
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({
      error: 'invalid_client',
      error_description: expect.stringMatching(reason),
    });
    expect(answer.body.access_token).toBeUndefined();
    const after = (await control()).counters;
    expect(after.tokensIssued).toBe(before.tokensIssued);
    expect(after.tokensRefused).toBe(before.tokensRefused + 1);
  });

  it('accepts an assertion once: the same jti again is refused while it is valid', async () => {
    const jti = randomUUID();
    const signed = await assertion({ jti });
    expect((await requestToken(server.tokenUrl, assertionForm(signed))).status).toBe(200);
    const again = await requestToken(server.tokenUrl, assertionForm(signed));
    expect(again.status).toBe(401);
    expect(again.body.error_description).toMatch(/jti was already used/);
    // A fresh assertion reusing the id is a replay too.
    const reused = await requestToken(server.tokenUrl, assertionForm(await assertion({ jti })));
    expect(reused.body.error).toBe('invalid_client');
  });

  it('fetches the JWKS again for a kid it does not know, so a rotated key is accepted', async () => {
    const rotated = await signingKey('RS384', 'rs-2');
    expect(
      (await requestToken(server.tokenUrl, assertionForm(await assertion({ key: rotated })))).status,
    ).toBe(401);
    const fetchesBefore = jwks.fetches();
    jwks.publish([es384, rs384, rotated]);
    const issued = await waitFor(
      async () => {
        const answer = await requestToken(server.tokenUrl, assertionForm(await assertion({ key: rotated })));
        return answer.status === 200 ? answer : undefined;
      },
      { timeoutMs: 5000, intervalMs: 250, what: 'the rotated key to be accepted' },
    );
    expect(typeof issued.body.access_token).toBe('string');
    expect(jwks.fetches()).toBeGreaterThan(fetchesBefore);
  });

  it('answers RFC 6749 errors for a missing or unsupported grant and a scope it cannot grant', async () => {
    const signed = await assertion();
    const noGrant = await requestToken(server.tokenUrl, { client_assertion: signed });
    expect(noGrant.status).toBe(400);
    expect(noGrant.body.error).toBe('invalid_request');
    const password = await requestToken(server.tokenUrl, {
      ...assertionForm(signed),
      grant_type: 'password',
    });
    expect(password.body.error).toBe('unsupported_grant_type');
    const scope = await requestToken(
      server.tokenUrl,
      assertionForm(await assertion(), 'system/Observation.rs'),
    );
    expect(scope.status).toBe(400);
    expect(scope.body.error).toBe('invalid_scope');
  });

  it('grants the requested scopes it allows, in SMART v1 and v2 syntax, and no others', async () => {
    const answer = await requestToken(
      server.tokenUrl,
      assertionForm(
        await assertion(),
        'system/Patient.read system/Slot.rs system/Appointment.cu system/Patient.write system/*.read',
      ),
    );
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('system/Patient.read system/Slot.rs system/Appointment.cu');
  });
});

describe('drills on the control API', () => {
  it('revoking the client refuses new tokens and every token it holds; restoring lets it sign in again', async () => {
    const held = await token();
    expect((await readPatient(held)).status).toBe(200);
    const revoked = await control({ revoked: true });
    expect(revoked).toMatchObject({
      mode: 'smart-backend',
      clientId: CLIENT_ID,
      revoked: true,
      activeTokens: 0,
    });
    expect((await readPatient(held)).status).toBe(401);
    const refused = await requestToken(server.tokenUrl, assertionForm(await assertion()));
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({
      error: 'invalid_client',
      error_description: 'the client has been revoked',
    });

    const restored = await control({ revoked: false });
    expect(restored.revoked).toBe(false);
    // Tokens of before the revocation stay dead, as at a real EHR.
    expect((await readPatient(held)).status).toBe(401);
    expect((await readPatient(await token())).status).toBe(200);
  });

  it('invalidating tokens makes a token the client thought valid answer 401, and a new one works', async () => {
    const held = await token();
    expect((await readPatient(held)).status).toBe(200);
    const before = (await control()).counters;
    const state = await control({ invalidateTokens: true });
    expect(state.revoked).toBe(false);
    expect(state.activeTokens).toBe(0);
    expect((await readPatient(held)).status).toBe(401);
    expect((await readPatient(await token())).status).toBe(200);
    const after = (await control()).counters;
    expect(after.unauthorized).toBe(before.unauthorized + 1);
    expect(after.tokensIssued).toBe(before.tokensIssued + 1);
  });

  it('refuses a change it does not understand with a problem naming the field, changing nothing', async () => {
    for (const body of [{ revoked: 'yes' }, { revokd: true }, {}]) {
      const res = await fetch(adminUrl, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(((await res.json()) as any).code).toBe('VALIDATION');
    }
    expect((await control()).revoked).toBe(false);
  });
});

it('refuses every assertion with invalid_client while the client JWKS cannot be fetched', async () => {
  const unreachable = await startSandboxServer({
    port: 0,
    patientCount: 5,
    auth: {
      mode: 'smart-backend',
      clientId: CLIENT_ID,
      jwksUrl: 'http://127.0.0.1:9/jwks.json',
      tokenLifetimeSeconds: 60,
    },
  });
  try {
    const signed = await clientAssertion({ clientId: CLIENT_ID, audience: unreachable.tokenUrl, key: es384 });
    const answer = await requestToken(unreachable.tokenUrl, assertionForm(signed));
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({
      error: 'invalid_client',
      error_description: "the client's JWKS could not be read",
    });
  } finally {
    await unreachable.close();
  }
});

describe('client secrets (client-credentials mode)', () => {
  const SECRET = 'sandbox-client-secret-0123456789';
  let secretServer: SandboxServer;
  beforeAll(async () => {
    secretServer = await startSandboxServer({
      port: 0,
      patientCount: 5,
      auth: {
        mode: 'client-credentials',
        clientId: 'ivr-backend',
        clientSecret: SECRET,
        tokenLifetimeSeconds: 60,
      },
    });
  });
  afterAll(async () => {
    await secretServer.close();
  });
  const basic = (id: string, secret: string): Record<string, string> => ({
    authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
  });
  const grant = { grant_type: 'client_credentials' };

  it('issues tokens to client_secret_basic and client_secret_post, which open the FHIR API', async () => {
    const viaBasic = await requestToken(secretServer.tokenUrl, grant, basic('ivr-backend', SECRET));
    const viaPost = await requestToken(secretServer.tokenUrl, {
      ...grant,
      client_id: 'ivr-backend',
      client_secret: SECRET,
    });
    for (const answer of [viaBasic, viaPost]) {
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ token_type: 'bearer', expires_in: 60, scope: 'system/*.cruds' });
      const res = await fetch(`${secretServer.url}/Patient/pat-0001`, {
        headers: { authorization: `Bearer ${answer.body.access_token as string}` },
      });
      expect(res.status).toBe(200);
    }
    const discovery: any = await (await fetch(`${secretServer.url}/.well-known/smart-configuration`)).json();
    expect(discovery.token_endpoint_auth_methods_supported).toEqual([
      'client_secret_basic',
      'client_secret_post',
    ]);
  });

  it('refuses a wrong secret or client id, Basic with a challenge, and issues nothing', async () => {
    const wrongBasic = await requestToken(secretServer.tokenUrl, grant, basic('ivr-backend', `${SECRET}x`));
    expect(wrongBasic.status).toBe(401);
    expect(wrongBasic.body.error).toBe('invalid_client');
    expect(wrongBasic.headers.get('www-authenticate')).toMatch(/^Basic /);
    const wrongPost = await requestToken(secretServer.tokenUrl, {
      ...grant,
      client_id: 'ivr-backend',
      client_secret: 'not-the-secret-000000',
    });
    expect(wrongPost.status).toBe(401);
    expect(wrongPost.body.error).toBe('invalid_client');
    const wrongId = await requestToken(secretServer.tokenUrl, grant, basic('someone', SECRET));
    expect(wrongId.body.error).toBe('invalid_client');
    const none = await requestToken(secretServer.tokenUrl, grant);
    expect(none.body.error).toBe('invalid_client');
    const both = await requestToken(
      secretServer.tokenUrl,
      { ...grant, client_id: 'ivr-backend', client_secret: SECRET },
      basic('ivr-backend', SECRET),
    );
    expect(both.body.error).toBe('invalid_client');
    expect(secretServer.auth.get().counters).toMatchObject({ tokensRefused: 5 });
  });
});
