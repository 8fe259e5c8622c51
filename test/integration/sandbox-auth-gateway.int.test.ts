/**
 * The sandbox embedded in the gateway, asked to require OAuth (`sandbox.auth`): its FHIR API then
 * takes the sandbox's own tokens, not the gateway's credentials, as Epic would; its discovery
 * document and token endpoint answer without a gateway credential; its control API still needs
 * the gateway's `sandbox:admin`. No route under /sandbox answers an anonymous caller with data.
 */
import { routeTable, type HttpMethod } from '../../src/http/route-table';
import {
  assertionForm,
  clientAssertion,
  hostJwks,
  requestToken,
  signingKey,
  type JwksHost,
  type SigningKey,
} from '../support/backend-services-client';
import { http } from '../support/http';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const CLIENT_ID = 'continuum-gateway';

let key: SigningKey;
let jwks: JwksHost;
let gw: TestGateway;
let tokenUrl: string;

beforeAll(async () => {
  key = await signingKey('ES384', 'gw-1');
  jwks = await hostJwks([key]);
  gw = await startTestGateway({
    overrides: {
      sandbox: {
        enabled: true,
        patientCount: 30,
        auth: { mode: 'smart-backend', clientId: CLIENT_ID, jwksUrl: jwks.url, tokenLifetimeSeconds: 5 },
      },
      // A static token the sandbox, now asking for OAuth, will not take (the start-up warns of it).
      connections: { sandbox: { auth: { type: 'bearer', token: 'a-static-token' } } },
    },
  });
  tokenUrl = `${gw.url}/sandbox/auth/token`;
}, 60_000);

afterAll(async () => {
  await gw.stop();
  await jwks.close();
});

async function sandboxToken(audience = tokenUrl): Promise<string> {
  const assertion = await clientAssertion({ clientId: CLIENT_ID, audience, key });
  const answer = await requestToken(tokenUrl, assertionForm(assertion));
  if (answer.status !== 200) throw new Error(`token refused: ${JSON.stringify(answer.body)}`);
  return answer.body.access_token as string;
}

it('warns at start of a connection to the sandbox that keeps a static token instead of signing in with OAuth', () => {
  const warning = gw.logs
    .lines()
    .find((line) => typeof line.msg === 'string' && line.msg.includes('requires OAuth tokens'));
  expect(warning).toMatchObject({ connections: ['sandbox'], sandboxAuthMode: 'smart-backend' });
});

const SANDBOX_CHALLENGE = 'Bearer realm="continuum-sandbox", error="invalid_token"';

it('publishes the SMART configuration with the gateway-hosted token endpoint, without a credential', async () => {
  const res = await http('GET', `${gw.fhirBase}/.well-known/smart-configuration`, { anonymous: true });
  expect(res.status).toBe(200);
  expect(res.body.token_endpoint).toBe(tokenUrl);
  expect(res.body.capabilities).toEqual(['client-confidential-asymmetric']);
  expect((await http('GET', `${gw.fhirBase}/metadata`, { anonymous: true })).status).toBe(200);
});

it("serves the FHIR API to the sandbox's own tokens only: not anonymously, not to the gateway's admin key", async () => {
  const anonymous = await http('GET', `${gw.fhirBase}/Patient/pat-0001`, { anonymous: true });
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get('www-authenticate')).toBe(SANDBOX_CHALLENGE);
  expect(anonymous.body.resourceType).toBe('OperationOutcome');

  // http() sends the gateway's admin key, which holds sandbox:admin: it is not a token of this EHR.
  const adminKey = await http('GET', `${gw.fhirBase}/Patient/pat-0001`);
  expect(adminKey.status).toBe(401);
  expect(adminKey.headers.get('www-authenticate')).toBe(SANDBOX_CHALLENGE);

  const served = await http('GET', `${gw.fhirBase}/Patient/pat-0001`, {
    headers: { authorization: `Bearer ${await sandboxToken()}` },
  });
  expect(served.status).toBe(200);
  expect(served.body.id).toBe('pat-0001');
});

it('checks the assertion audience against the token endpoint as the gateway serves it', async () => {
  const elsewhere = await clientAssertion({
    clientId: CLIENT_ID,
    audience: 'http://127.0.0.1:9/sandbox/auth/token',
    key,
  });
  const refused = await requestToken(tokenUrl, assertionForm(elsewhere));
  expect(refused.status).toBe(401);
  expect(refused.body.error).toBe('invalid_client');
});

it("keeps the control API behind the gateway's sandbox:admin, and its revocation reaches the FHIR API", async () => {
  const admin = `${gw.url}/sandbox/admin/auth`;
  const anonymous = await http('GET', admin, { anonymous: true });
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get('www-authenticate')).toMatch(/Bearer realm="continuum"/);
  const anonymousRevoke = await http('POST', admin, { anonymous: true, body: { revoked: true } });
  expect(anonymousRevoke.status).toBe(401);

  const held = await sandboxToken();
  const state = await http('GET', admin);
  expect(state.status).toBe(200);
  expect(state.body).toMatchObject({ mode: 'smart-backend', clientId: CLIENT_ID, revoked: false });
  expect(state.body.counters.tokensIssued).toBeGreaterThanOrEqual(1);

  expect((await http('POST', admin, { body: { revoked: true } })).body.revoked).toBe(true);
  const read = await http('GET', `${gw.fhirBase}/Patient/pat-0002`, {
    headers: { authorization: `Bearer ${held}` },
  });
  expect(read.status).toBe(401);
  const assertion = await clientAssertion({ clientId: CLIENT_ID, audience: tokenUrl, key });
  expect((await requestToken(tokenUrl, assertionForm(assertion))).body.error).toBe('invalid_client');
  expect((await http('POST', admin, { body: { revoked: false } })).body.revoked).toBe(false);
  const again = await http('GET', `${gw.fhirBase}/Patient/pat-0002`, {
    headers: { authorization: `Bearer ${await sandboxToken()}` },
  });
  expect(again.status).toBe(200);
});

it('answers no route under /sandbox to a caller without a credential, except discovery and the token endpoint', async () => {
  const table = routeTable({ sandboxChecksTokens: true }).filter((spec) => spec.path.startsWith('/sandbox/'));
  expect(table.filter((spec) => spec.access === 'public').map((s) => `${s.method} ${s.path}`)).toEqual([
    'GET /sandbox/fhir{/*rest}',
    'POST /sandbox/fhir{/*rest}',
    'PUT /sandbox/fhir{/*rest}',
    'PATCH /sandbox/fhir{/*rest}',
    'DELETE /sandbox/fhir{/*rest}',
    'POST /sandbox/auth/token',
  ]);
  const answered: string[] = [];
  for (const spec of table) {
    const path = spec.path.replace('{/*rest}', '/Patient/pat-0003');
    const res = await fetch(`${gw.url}${path}`, {
      method: spec.method satisfies HttpMethod,
      ...(spec.method === 'GET' || spec.method === 'DELETE'
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: '{}' }),
    });
    const body = await res.text();
    if (spec.path === '/sandbox/auth/token') {
      // It authenticates the client itself: RFC 6749's answer, no token.
      if (res.status !== 400 || body.includes('access_token'))
        answered.push(`${spec.method} ${path}: ${res.status}`);
    } else if (res.status !== 401 || body.includes('pat-0003')) {
      answered.push(`${spec.method} ${path}: ${res.status}`);
    }
  }
  expect(answered).toEqual([]);
  // And the Patient the DELETE named is still there.
  const kept = await http('GET', `${gw.fhirBase}/Patient/pat-0003`, {
    headers: { authorization: `Bearer ${await sandboxToken()}` },
  });
  expect(kept.status).toBe(200);
});
