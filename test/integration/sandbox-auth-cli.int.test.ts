/**
 * `continuum sandbox --auth-mode ...` with the built CLI (`npm run build` first): the stand-alone sandbox
 * requires its own OAuth tokens on the FHIR API, its static `--token` then guards only the control API,
 * and flags that do not make a client stop the command with exit 2.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestToken } from '../support/backend-services-client';
import { CLI, cleanEnv, freePort, runCli, stopChildren } from '../support/child-gateway';
import { http } from '../support/http';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60000);

const SECRET = 'cli-client-secret-0123456789';
const ADMIN_TOKEN = 'sandbox-admin-token-0123456789';

let workdir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  workdir = mkdtempSync(join(tmpdir(), 'continuum-sandbox-auth-'));
});
afterAll(() => {
  rmSync(workdir, { recursive: true, force: true });
});
afterEach(stopChildren);

it('requires its own tokens on the FHIR API, and --token guards only the control API', async () => {
  const port = await freePort();
  const run = runCli(
    [
      'sandbox',
      '--port',
      String(port),
      '--patients',
      '10',
      '--auth-mode',
      'client-credentials',
      '--client-id',
      'ivr-backend',
      '--token-lifetime',
      '60',
      '--token',
      ADMIN_TOKEN,
    ],
    { cwd: workdir, env: cleanEnv({ CONTINUUM_SANDBOX_CLIENT_SECRET: SECRET }) },
  );
  const origin = `http://127.0.0.1:${String(port)}`;
  const tokenUrl = `${origin}/sandbox/auth/token`;
  try {
    await waitFor(
      async () => {
        if (run.child.exitCode !== null) throw new Error(`sandbox exited early:\n${run.output()}`);
        const answer = await http('GET', `${origin}/sandbox/fhir/metadata`).catch(() => undefined);
        return answer?.status === 200 ? true : undefined;
      },
      { timeoutMs: 30000, intervalMs: 100, what: 'the sandbox to listen' },
    );
    expect(run.output()).toContain(`OAuth (client-credentials): token endpoint ${tokenUrl}`);

    const anonymous = await http('GET', `${origin}/sandbox/fhir/Patient/pat-0001`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('error="invalid_token"');
    // The static token is the control API's credential, not a token of this EHR.
    const staticToken = await http('GET', `${origin}/sandbox/fhir/Patient/pat-0001`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(staticToken.status).toBe(401);

    const issued = await requestToken(tokenUrl, {
      grant_type: 'client_credentials',
      client_id: 'ivr-backend',
      client_secret: SECRET,
    });
    expect(issued.status).toBe(200);
    expect(issued.body.expires_in).toBe(60);
    const read = await http('GET', `${origin}/sandbox/fhir/Patient/pat-0001`, {
      headers: { authorization: `Bearer ${issued.body.access_token as string}` },
    });
    expect(read.status).toBe(200);

    expect((await http('GET', `${origin}/sandbox/admin/auth`)).status).toBe(401);
    const state = await http('GET', `${origin}/sandbox/admin/auth`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({
      mode: 'client-credentials',
      clientId: 'ivr-backend',
      counters: { tokensIssued: 1, tokensRefused: 0, unauthorized: 2 },
    });
    expect(run.output()).not.toContain(SECRET);
  } finally {
    expect(await run.stop()).toBe(0);
  }
});

it('refuses flags that do not make a client with exit code 2 and names the flag', async () => {
  const run = runCli(['sandbox', '--port', '0', '--auth-mode', 'smart-backend', '--client-id', 'gw'], {
    cwd: workdir,
    env: cleanEnv({}),
  });
  expect(await run.exited).toBe(2);
  expect(run.output()).toContain('--jwks-url: is required with mode smart-backend');
});
