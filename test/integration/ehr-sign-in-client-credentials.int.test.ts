/**
 * OAuth client credentials with a secret (Medplum, vendor system accounts): Basic and form
 * authentication, a secret file re-read when it changes, and one short-lived token shared by two
 * gateways on one Redis, refreshed ahead of expiry by one of them at a time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '../support/http';
import { startOAuthEhr, type OAuthEhr } from '../support/oauth-ehr';
import { deletePrefix } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

const readPatient = (gw: TestGateway, id: string) =>
  http<Record<string, unknown>>('GET', `${gw.url}/v1/patients/${id}`);

function patientOf(ehr: OAuthEhr, index: number): string {
  const id = ehr.patientIds[index];
  if (id === undefined) throw new Error(`the sandbox has no patient #${index}`);
  return id;
}

function expectNoSecretsIn(logs: string, ehr: OAuthEhr): void {
  expect(logs).not.toContain(ehr.clientSecret);
  const tokens = ehr.tokenCalls.map((c) => c.issued).filter((t) => t !== undefined);
  expect(tokens.length).toBeGreaterThan(0);
  for (const token of tokens) expect(logs).not.toContain(token);
}

describe('client_secret_basic', () => {
  let ehr: OAuthEhr;
  let gw: TestGateway;

  beforeAll(async () => {
    ehr = await startOAuthEhr({ kind: 'client-credentials' });
    gw = await startTestGateway({
      overrides: {
        connections: {
          ehr: {
            baseUrl: ehr.fhirBase,
            // A sandbox behind the test's OAuth gate: the sandbox's own MRN system is right for it.
            sandboxEhr: true,
            auth: {
              type: 'client-credentials',
              clientId: ehr.clientId,
              clientSecret: ehr.clientSecret,
              tokenUrl: ehr.tokenUrl,
              scopes: ['system/*.read'],
            },
          },
        },
      },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await ehr.close();
  });

  it('authenticates with HTTP Basic and presents the token it got', async () => {
    const res = await readPatient(gw, patientOf(ehr, 0));

    expect(res.status).toBe(200);
    expect(ehr.tokenCalls).toHaveLength(1);
    expect(ehr.tokenCalls[0]).toMatchObject({ method: 'client_secret_basic', scope: 'system/*.read' });
    expect(ehr.tokenCalls[0]?.refused).toBeUndefined();
    expect(ehr.fhirCalls.at(-1)).toMatchObject({ status: 200, token: ehr.tokenCalls[0]?.issued });
    expectNoSecretsIn(gw.logs.text(), ehr);
  });
});

describe('client_secret_post with a secret file', () => {
  let ehr: OAuthEhr;
  let gw: TestGateway;
  let secretDir: string;
  let secretFile: string;
  const changed: string[] = [];

  /** Replaced whole, as Kubernetes and Docker replace a mounted secret. */
  const writeSecret = (secret: string): void => {
    const temp = join(secretDir, `.next-${randomBytes(4).toString('hex')}`);
    writeFileSync(temp, `${secret}\n`, { mode: 0o600 });
    renameSync(temp, secretFile);
  };

  beforeAll(async () => {
    ehr = await startOAuthEhr({ kind: 'client-credentials' });
    secretDir = mkdtempSync(join(tmpdir(), 'continuum-ehr-secret-'));
    secretFile = join(secretDir, 'client-secret');
    writeSecret(ehr.clientSecret);
    gw = await startTestGateway({
      overrides: {
        connections: {
          ehr: {
            baseUrl: ehr.fhirBase,
            // A sandbox behind the test's OAuth gate: the sandbox's own MRN system is right for it.
            sandboxEhr: true,
            auth: {
              type: 'client-credentials',
              clientId: ehr.clientId,
              clientSecretFile: secretFile,
              method: 'client_secret_post',
              // No tokenUrl: discovered from the EHR's SMART configuration.
            },
            breaker: { failureThreshold: 50 },
          },
        },
      },
    });
    gw.gateway.ehrCredentials.onCredentialsChanged((connection) => changed.push(connection));
  });
  afterAll(async () => {
    await gw.stop();
    await ehr.close();
    rmSync(secretDir, { recursive: true, force: true });
  });

  it('sends the id and secret as form fields, the secret read from its file', async () => {
    const res = await readPatient(gw, patientOf(ehr, 0));

    expect(res.status).toBe(200);
    expect(ehr.tokenCalls).toHaveLength(1);
    expect(ehr.tokenCalls[0]).toMatchObject({ method: 'client_secret_post', scope: undefined });
    expect(ehr.tokenCalls[0]?.refused).toBeUndefined();
  });

  it('re-reads a changed secret file without a restart, drops its token and tells the hook', async () => {
    writeSecret('a-secret-the-ehr-does-not-know');
    await waitFor(() => Promise.resolve(changed.includes('ehr') ? true : undefined), {
      timeoutMs: 5000,
      what: 'the credentials-changed hook',
    });

    // The token of the old secret is gone: the next read proves the new one, which is refused.
    const refused = await readPatient(gw, patientOf(ehr, 1));
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('EHR_CREDENTIALS_REJECTED');
    expect(ehr.tokenCalls.at(-1)?.refused).toBe('wrong client or secret');

    changed.length = 0;
    writeSecret(ehr.clientSecret);
    await waitFor(() => Promise.resolve(changed.includes('ehr') ? true : undefined), {
      timeoutMs: 5000,
      what: 'the credentials-changed hook',
    });
    // The reload retries the refused credentials at once (the periodic retry is 30 s away): reads
    // come back within moments.
    await waitFor(
      async () => ((await readPatient(gw, patientOf(ehr, 2))).status === 200 ? true : undefined),
      { timeoutMs: 5000, intervalMs: 100, what: 'a read with the restored secret' },
    );
    expect(ehr.tokenCalls.at(-1)?.refused).toBeUndefined();
    expectNoSecretsIn(gw.logs.text(), ehr);
    expect(gw.logs.text()).not.toContain('a-secret-the-ehr-does-not-know');
  });
});

describe('a short-lived token shared by two gateways', () => {
  const LIFETIME_SECONDS = 3;
  const RUN_MS = 8000;
  let ehr: OAuthEhr;
  let first: TestGateway;
  let second: TestGateway;
  const prefix = `t-shared-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    ehr = await startOAuthEhr({ kind: 'client-credentials', tokenLifetimeSeconds: LIFETIME_SECONDS });
    const overrides = {
      redis: { keyPrefix: prefix, requireDurability: false },
      // Both seal and open the shared token with the same key, as processes sharing a Redis must.
      encryption: { key: randomBytes(32).toString('base64') },
      connections: {
        ehr: {
          baseUrl: ehr.fhirBase,
          // A sandbox behind the test's OAuth gate: the sandbox's own MRN system is right for it.
          sandboxEhr: true,
          auth: {
            type: 'client-credentials',
            clientId: ehr.clientId,
            clientSecret: ehr.clientSecret,
            tokenUrl: ehr.tokenUrl,
          },
        },
      },
    };
    first = await startTestGateway({ overrides });
    second = await startTestGateway({ overrides, key: first.key });
  });
  afterAll(async () => {
    await second.stop();
    await first.stop();
    await deletePrefix(prefix);
    await ehr.close();
  });

  it('keeps reads working across expiry, refreshing ahead of it, about once per interval in all', async () => {
    const ids = [patientOf(ehr, 0), patientOf(ehr, 1), patientOf(ehr, 2)];
    const statuses: number[] = [];
    const started = Date.now();
    let i = 0;
    // Agents on both gateways reading steadily for a few token lifetimes.
    while (Date.now() - started < RUN_MS) {
      const id = ids[i % ids.length] ?? '';
      const answers = await Promise.all([readPatient(first, id), readPatient(second, id)]);
      statuses.push(...answers.map((a) => a.status));
      i++;
    }

    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // No FHIR request went out with an expired token.
    expect(ehr.fhirCalls.filter((c) => c.status !== 200)).toEqual([]);

    const issued = ehr.tokenCalls.filter((c) => c.issued !== undefined);
    expect(ehr.tokenCalls.filter((c) => c.refused !== undefined)).toEqual([]);
    // Refreshed at ~80% of 3 s: about RUN_MS / 2.4 s tokens for both gateways together, not twice that.
    const perInterval = Math.ceil(RUN_MS / (0.8 * LIFETIME_SECONDS * 1000));
    expect(issued.length).toBeGreaterThanOrEqual(2);
    expect(issued.length).toBeLessThanOrEqual(perInterval + 2);
    // Each new token arrived before the one it replaced expired.
    for (let n = 1; n < issued.length; n++) {
      const previous = issued[n - 1]?.at ?? 0;
      expect((issued[n]?.at ?? 0) - previous).toBeLessThan(LIFETIME_SECONDS * 1000);
    }
    // The gateways' own counts agree with what the endpoint saw.
    const counted =
      first.gateway.ehrCredentials.tokenRequests('ehr') + second.gateway.ehrCredentials.tokenRequests('ehr');
    expect(counted).toBe(ehr.tokenCalls.length);
    process.stdout.write(
      `shared token: ${statuses.length} reads in ${RUN_MS} ms, ${issued.length} token requests ` +
        `(first ${first.gateway.ehrCredentials.tokenRequests('ehr')}, second ${second.gateway.ehrCredentials.tokenRequests('ehr')})\n`,
    );
    expectNoSecretsIn(first.logs.text() + second.logs.text(), ehr);
  });
});
