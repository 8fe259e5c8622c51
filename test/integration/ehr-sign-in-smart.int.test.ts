/**
 * SMART Backend Services sign-in, end to end: a gateway whose EHR connection signs in with a JWT
 * client assertion, against a token endpoint that verifies it with jose against the gateway's
 * own /.well-known/jwks.json fetched over HTTP (as Epic does), and a FHIR endpoint that takes only
 * the tokens it issued. Agents read patients through the gateway's API as they would on shift.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { projectRoot } from '../../src/project-root';
import { ehrKeysCommand } from '../../src/cli/ehr-keys-command';
import { ehrKeyDir } from '../../adapters/ehr/oauth/ehr-key-store';
import { http } from '../support/http';
import { startOAuthEhr, type OAuthEhr } from '../support/oauth-ehr';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

let ehr: OAuthEhr;
let gw: TestGateway;

interface Jwks {
  keys: Record<string, unknown>[];
}

const jwks = async (): Promise<Jwks> =>
  (await http<Jwks>('GET', `${gw.url}/.well-known/jwks.json`, { anonymous: true })).body;
const readPatient = (id: string) => http<Record<string, unknown>>('GET', `${gw.url}/v1/patients/${id}`);
const patient = (index: number): string => {
  const id = ehr.patientIds[index];
  if (id === undefined) throw new Error(`the sandbox has no patient #${index}`);
  return id;
};

beforeAll(async () => {
  ehr = await startOAuthEhr({ kind: 'smart-backend' });
  gw = await startTestGateway({
    overrides: {
      connections: {
        ehr: {
          baseUrl: ehr.fhirBase,
          // A sandbox behind the test's OAuth gate: the sandbox's own MRN system is right for it.
          sandboxEhr: true,
          // No tokenUrl: found through <baseUrl>/.well-known/smart-configuration.
          auth: {
            type: 'smart-backend',
            clientId: ehr.clientId,
            scopes: ['system/Patient.read', 'system/Appointment.rs'],
          },
          breaker: { failureThreshold: 50 },
        },
      },
    },
  });
  ehr.setJwksUrl(`${gw.url}/.well-known/jwks.json`);
});

afterAll(async () => {
  await gw.stop();
  await ehr.close();
});

it('signs in with a client assertion the EHR verifies against the JWKS URL, found by SMART discovery', async () => {
  const res = await readPatient(patient(0));

  expect(res.status).toBe(200);
  expect(res.body.id).toBe(patient(0));
  const calls = ehr.tokenCalls;
  expect(calls).toHaveLength(1);
  const [call] = calls;
  expect(call?.refused).toBeUndefined();
  expect(call?.method).toBe('private_key_jwt');
  expect(call?.scope).toBe('system/Patient.read system/Appointment.rs');
  expect(call?.header).toMatchObject({ alg: 'ES384', typ: 'JWT' });
  const kid = call?.header?.kid;
  expect(typeof kid).toBe('string');
  expect((await jwks()).keys.map((k) => k.kid)).toContain(kid);
  const payload = call?.payload ?? {};
  expect(payload.iss).toBe(ehr.clientId);
  expect(payload.sub).toBe(ehr.clientId);
  // The discovered token URL, exactly.
  expect(payload.aud).toBe(ehr.tokenUrl);
  const now = Math.floor(Date.now() / 1000);
  expect(payload.exp).toBeGreaterThan(now);
  expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(300);
  expect((payload.exp ?? 0) - now).toBeLessThanOrEqual(300);
  expect(typeof payload.jti).toBe('string');
  // The FHIR request carried the token the endpoint issued.
  expect(ehr.fhirCalls.at(-1)).toMatchObject({ status: 200, token: call?.issued });
});

it('reuses its token across reads, and signs every new assertion with a new jti', async () => {
  const before = ehr.tokenCalls.length;
  for (let i = 0; i < 3; i++) expect((await readPatient(patient(0))).status).toBe(200);
  expect(ehr.tokenCalls.length).toBe(before);

  await gw.gateway.ehrCredentials.reloadCredentials('ehr');
  expect((await readPatient(patient(0))).status).toBe(200);
  await gw.gateway.ehrCredentials.reloadCredentials('ehr');
  expect((await readPatient(patient(0))).status).toBe(200);

  const jtis = ehr.tokenCalls.map((c) => c.payload?.jti);
  expect(ehr.tokenCalls.length).toBe(before + 2);
  expect(new Set(jtis).size).toBe(jtis.length);
  expect(ehr.tokenCalls.every((c) => c.refused === undefined)).toBe(true);
});

it('publishes only public key parts, and keeps its key files private', async () => {
  const published = (await jwks()).keys;
  const ehrKeys = published.filter((k) => k.alg === 'ES384');
  expect(ehrKeys.length).toBeGreaterThanOrEqual(1);
  for (const key of published) {
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'])
      expect(key).not.toHaveProperty(secret);
    expect(key).toMatchObject({ use: 'sig' });
    expect(typeof key.kid).toBe('string');
  }
  const dir = ehrKeyDir(gw.dataDir);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  const files = readdirSync(dir);
  expect(files.length).toBeGreaterThanOrEqual(1);
  for (const file of files) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
});

it('after a 401 to a valid-looking token, fetches one fresh token and sends the read once more', async () => {
  expect((await readPatient(patient(1))).status).toBe(200);
  const tokensBefore = ehr.tokenCalls.length;
  const fhirBefore = ehr.fhirCalls.length;
  ehr.forgetIssuedTokens();

  const res = await readPatient(patient(2));

  expect(res.status).toBe(200);
  expect(res.body.id).toBe(patient(2));
  expect(ehr.tokenCalls.length).toBe(tokensBefore + 1);
  const fhir = ehr.fhirCalls.slice(fhirBefore);
  expect(fhir.map((c) => c.status)).toEqual([401, 200]);
  expect(fhir[1]?.token).toBe(ehr.tokenCalls.at(-1)?.issued);
});

it('after ehr-keys rotate, signs with the new key, which verifies, while the old one stays published', async () => {
  const config = loadConfig({
    env: {},
    cwd: gw.dataDir,
    builtInMappingsDir: join(projectRoot(), 'mappings'),
    overrides: { dataDir: gw.dataDir },
  });
  const oldKid = ehr.tokenCalls.at(-1)?.header?.kid;
  const printed: string[] = [];
  const code = await ehrKeysCommand(
    ['rotate', '--overlap', '1h', '--json'],
    () => config,
    (t) => printed.push(t),
  );
  expect(code).toBe(0);
  const rotated = JSON.parse(printed[0] ?? '{}') as {
    created: { kid: string }[];
    superseded: { kid: string }[];
  };
  const newKid = rotated.created[0]?.kid;
  expect(rotated.superseded.map((k) => k.kid)).toEqual([oldKid]);
  expect(newKid).not.toBe(oldKid);

  // No restart, no signal: the running gateway notices the key directory changed.
  const signedWithNew = await waitFor(
    async () => {
      const res = await readPatient(patient(3));
      expect(res.status).toBe(200);
      const last = ehr.tokenCalls.at(-1);
      return last?.header?.kid === newKid ? last : undefined;
    },
    { timeoutMs: 10_000, what: 'a token request signed with the new key' },
  );
  expect(signedWithNew.refused).toBeUndefined();
  const kids = (await jwks()).keys.map((k) => k.kid);
  expect(kids).toContain(newKid);
  expect(kids).toContain(oldKid);

  const listed: string[] = [];
  expect(
    await ehrKeysCommand(
      ['list', '--json'],
      () => config,
      (t) => listed.push(t),
    ),
  ).toBe(0);
  const keys = (JSON.parse(listed[0] ?? '{}') as { keys: Record<string, unknown>[] }).keys;
  expect(keys.find((k) => k.kid === newKid)).toMatchObject({ state: 'active' });
  expect(keys.find((k) => k.kid === oldKid)).toMatchObject({ state: 'published' });
  expect(typeof keys.find((k) => k.kid === oldKid)?.publishedUntil).toBe('string');
});

it('a 403 to a fresh token is EHR_CREDENTIALS_REJECTED, after one refresh only', async () => {
  const tokensBefore = ehr.tokenCalls.length;
  ehr.forgetIssuedTokens();
  ehr.setFhirForbidden(true);
  try {
    const res = await readPatient(patient(4));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('EHR_CREDENTIALS_REJECTED');
    expect(ehr.tokenCalls.length).toBe(tokensBefore + 1);
  } finally {
    ehr.setFhirForbidden(false);
  }
  // The refusal put the connection in credentials-rejected; retried now, it is accepted again.
  expect(await gw.gateway.retryCredentialsNow('ehr')).toEqual({ ehr: 'recovered' });
});

it('a revoked client is EHR_CREDENTIALS_REJECTED; an unreachable or failing token endpoint is EHR_UNAVAILABLE', async () => {
  ehr.setTokenEndpoint('revoked');
  ehr.forgetIssuedTokens();
  const revoked = await readPatient(patient(6));
  expect(revoked.status).toBe(503);
  expect(revoked.body.code).toBe('EHR_CREDENTIALS_REJECTED');
  expect(ehr.tokenCalls.at(-1)?.refused).toBe('client revoked');
  // While the connection is credentials-rejected, reads do not ask the EHR: restore the client and
  // retry the credentials, so each failure of the token endpoint below meets the EHR again.
  expect((await gw.gateway.retryCredentialsNow('ehr')).ehr).toBe('still-rejected');
  ehr.setTokenEndpoint('up');
  // A process asks a token endpoint that just failed again only after a second.
  await waitFor(
    async () => ((await gw.gateway.retryCredentialsNow('ehr')).ehr === 'recovered' ? true : undefined),
    { timeoutMs: 5000, intervalMs: 200, what: 'the credentials accepted again' },
  );
  // The EHR forgets the token the recovery got, so the next read must go to the token endpoint.
  ehr.forgetIssuedTokens();

  // Each read below names a patient never read, so no cached answer stands in for the EHR's.
  let n = 0;
  const readNew = () => http('GET', `${gw.url}/v1/patients/never-read-${Date.now()}-${n++}`);
  const answerWith = (code: string) =>
    waitFor(
      async () => {
        const res = await readNew();
        return res.body?.code === code ? res : undefined;
      },
      { timeoutMs: 5000, what: `a read answered ${code}` },
    );

  ehr.setTokenEndpoint('closed');
  expect((await answerWith('EHR_UNAVAILABLE')).status).toBe(503);
  expect(ehr.tokenCalls.at(-1)?.refused).toBe('connection closed');

  ehr.setTokenEndpoint('http503');
  expect((await answerWith('EHR_UNAVAILABLE')).status).toBe(503);
  // A failing endpoint is not asked once per request: reads in the meantime fail alike.
  const before = ehr.tokenCalls.length;
  const started = Date.now();
  for (let i = 0; i < 20; i++) expect((await readNew()).status).toBe(503);
  const asked = ehr.tokenCalls.length - before;
  expect(asked).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 1000) + 1);

  // Back up: a later read signs in again and succeeds.
  ehr.setTokenEndpoint('up');
  await waitFor(async () => ((await readPatient(patient(5))).status === 200 ? true : undefined), {
    timeoutMs: 5000,
    what: 'a read after the token endpoint recovered',
  });
});

it('never writes a token, an assertion or a private key to its logs', () => {
  const logs = gw.logs.text();
  expect(logs).toContain('EHR access token obtained');
  const secrets = ehr.tokenCalls.flatMap((c) => [c.issued, c.assertion]).filter((v) => v !== undefined);
  expect(secrets.length).toBeGreaterThan(5);
  for (const secret of secrets) expect(logs).not.toContain(secret);
  const dir = ehrKeyDir(gw.dataDir);
  for (const file of readdirSync(dir)) {
    const { jwk } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { jwk: { d: string } };
    expect(logs).not.toContain(jwk.d);
  }
});
