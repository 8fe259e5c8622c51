/**
 * EHR sign-in as an operator runs it: the built gateway as a child process, its client secret from
 * the environment through `${ENV}`, SIGHUP to re-read credentials without a restart, and
 * `continuum ehr-keys` changing what the running gateway publishes at /.well-known/jwks.json.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, cleanEnv, freePort, runCli, stopChildren, type ChildGateway } from '../support/child-gateway';
import { readAdminKey, useCredential } from '../support/credentials';
import { http } from '../support/http';
import { startOAuthEhr, type OAuthEhr } from '../support/oauth-ehr';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';
import { waitFor } from '../support/wait-for';

jest.setTimeout(90000);

let workdir: string;
let dataDir: string;
let prefix: string;
let ehr: OAuthEhr;
let gateway: ChildGateway;
let url: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ehr = await startOAuthEhr({ kind: 'client-credentials' });
  workdir = mkdtempSync(join(tmpdir(), 'continuum-ehr-sign-in-'));
  dataDir = join(workdir, 'var');
  prefix = `test-ehr-sign-in-${randomUUID().slice(0, 8)}`;
  writeFileSync(
    join(workdir, 'continuum.config.yaml'),
    [
      'redis:',
      `  keyPrefix: ${prefix}`,
      '  requireDurability: false',
      'cache:',
      '  warmup: { enabled: false }',
      'connections:',
      '  ehr:',
      `    baseUrl: ${ehr.fhirBase}`,
      '    sandboxEhr: true',
      '    auth:',
      '      type: client-credentials',
      `      clientId: ${ehr.clientId}`,
      '      clientSecret: ${EHR_CLIENT_SECRET}',
      `      tokenUrl: ${ehr.tokenUrl}`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = cleanEnv({
    PORT: String(port),
    CONTINUUM_DATA_DIR: dataDir,
    REDIS_URL: TEST_REDIS_URL,
    LOG_LEVEL: 'info',
    EHR_CLIENT_SECRET: ehr.clientSecret,
  });
  gateway = runCli(['start'], { cwd: workdir, env });
  await waitFor(
    async () => {
      if (gateway.child.exitCode !== null) throw new Error(`gateway exited early:\n${gateway.output()}`);
      const res = await fetch(`${url}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    { timeoutMs: 60000, intervalMs: 200, what: 'the gateway to be ready' },
  );
  useCredential(url, readAdminKey(dataDir));
});

afterAll(async () => {
  await stopChildren();
  await deletePrefix(prefix);
  await ehr.close();
  rmSync(workdir, { recursive: true, force: true });
});

it('signs in with the secret from the environment, and signs in again after SIGHUP', async () => {
  const first = await http('GET', `${url}/v1/patients/${ehr.patientIds[0] ?? ''}`);
  expect(first.status).toBe(200);
  expect(ehr.tokenCalls).toHaveLength(1);
  expect(ehr.tokenCalls[0]?.refused).toBeUndefined();

  const pid = gateway.child.pid;
  if (pid === undefined) throw new Error('no gateway pid');
  process.kill(pid, 'SIGHUP');
  await waitFor(
    () => Promise.resolve(gateway.output().includes('re-reading EHR credentials') ? true : undefined),
    {
      what: 'the gateway to take SIGHUP',
    },
  );

  // Still running; the re-read credentials are proved by a new token on the next read.
  await waitFor(
    async () => {
      const res = await http('GET', `${url}/v1/patients/${ehr.patientIds[1] ?? ''}`);
      expect(res.status).toBe(200);
      return ehr.tokenCalls.length === 2 ? true : undefined;
    },
    { timeoutMs: 10000, what: 'a token request after SIGHUP' },
  );
  expect(gateway.child.exitCode).toBeNull();
  const output = gateway.output();
  expect(output).not.toContain(ehr.clientSecret);
  for (const call of ehr.tokenCalls) expect(output).not.toContain(call.issued ?? 'no token issued');
});

it('publishes a key made by continuum ehr-keys create, without a restart', async () => {
  const run = promisify(execFile);
  const before = (
    await http<{ keys: { kid: string }[] }>('GET', `${url}/.well-known/jwks.json`, { anonymous: true })
  ).body.keys;

  const created = await run(process.execPath, [CLI, 'ehr-keys', 'create', '--alg', 'RS384', '--json'], {
    cwd: workdir,
    env,
  });
  const { kid } = JSON.parse(created.stdout) as { kid: string };
  const listed = await run(process.execPath, [CLI, 'ehr-keys', 'list'], { cwd: workdir, env });
  expect(listed.stdout).toMatch(new RegExp(`${kid}\\s+RS384\\s+active`));

  const published = await waitFor(
    async () => {
      const keys = (
        await http<{ keys: Record<string, unknown>[] }>('GET', `${url}/.well-known/jwks.json`, {
          anonymous: true,
        })
      ).body.keys;
      return keys.find((k) => k.kid === kid);
    },
    { timeoutMs: 10000, what: 'the new key in the JWKS' },
  );
  expect(published).toMatchObject({ kty: 'RSA', alg: 'RS384', use: 'sig' });
  expect(published).not.toHaveProperty('d');
  expect(before.map((k) => k.kid)).not.toContain(kid);
});
