/**
 * The built server as a user runs it: embedded Redis with persistence, the sandbox EHR, the
 * lookup-and-correct slice over HTTP, a clean SIGTERM, and a restart that still has the receipt.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, freePort, runCli, startChildGateway, stopChildren } from '../support/child-gateway';
import { http, phoneDigits } from '../support/http';
import { waitFor } from '../support/wait-for';

jest.setTimeout(120000);

let workdir: string;
beforeAll(() => {
  workdir = mkdtempSync(join(tmpdir(), 'continuum-e2e-'));
});
afterAll(() => {
  rmSync(workdir, { recursive: true, force: true });
});
// A failed assertion may leave a gateway or CLI child running: stop it, or the runner never ends.
afterEach(stopChildren);

it('runs the slice, stops cleanly on SIGTERM and finds the operation again after a restart', async () => {
  const dataDir = join(workdir, 'var');
  const port = await freePort();
  let gateway = await startChildGateway({ cwd: workdir, dataDir, port });
  let operationId: string;
  try {
    const ready = await http('GET', `${gateway.url}/readyz`);
    expect(ready.body).toMatchObject({
      ready: true,
      redis: 'up',
      connections: { sandbox: { reachable: true } },
    });

    const bundle = await http('GET', `${gateway.url}/sandbox/fhir/Patient?_count=30`);
    const patient = (bundle.body.entry as { resource: any }[])
      .map((e) => e.resource)
      .find((p) => phoneDigits(p).length > 0);
    const digits = phoneDigits(patient)[0]!;
    const lookup = await http(
      'GET',
      `${gateway.url}/v1/patients/lookup?phone=${encodeURIComponent(`+1 ${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`)}`,
    );
    expect(lookup.body.matches.map((m: { id: string }) => m.id)).toContain(patient.id);

    const accepted = await http('PATCH', `${gateway.url}/v1/patients/${patient.id as string}`, {
      body: { phones: ['+1 (212) 555-0163'] },
    });
    expect(accepted.status).toBe(202);
    operationId = accepted.body.operationId as string;
    await waitFor(async () => {
      const r = await http('GET', `${gateway.url}/v1/operations/${operationId}`);
      return r.body.status === 'succeeded' ? true : undefined;
    });
    const byNew = await http('GET', `${gateway.url}/v1/patients/lookup?phone=2125550163`);
    expect(byNew.body.matches.map((m: { id: string }) => m.id)).toContain(patient.id);
  } finally {
    expect(await gateway.stop()).toBe(0);
  }
  expect(gateway.output()).toContain('Continuum stopped');
  // The first start made the admin client: it says where the key is, never the key itself.
  const keyFile = join(dataDir, 'admin.key');
  const key = readFileSync(keyFile, 'utf8').trim();
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  expect(gateway.output()).toContain(`its key is in ${keyFile}`);
  expect(gateway.output()).not.toContain(key);

  gateway = await startChildGateway({ cwd: workdir, dataDir, port });
  try {
    // A restart finds its clients: no second admin client, the same key still works.
    expect(readFileSync(keyFile, 'utf8').trim()).toBe(key);
    expect(gateway.output()).not.toContain('its key is in');
    expect((await http('GET', `${gateway.url}/v1/status`, { anonymous: true })).status).toBe(401);
    const receipt = await http('GET', `${gateway.url}/v1/operations/${operationId}`);
    expect(receipt.status).toBe(200);
    expect(receipt.body).toMatchObject({ operationId, status: 'succeeded', kind: 'patient.update' });
  } finally {
    expect(await gateway.stop()).toBe(0);
  }
});

it('refuses to start on an invalid config file, naming the key and the reason', async () => {
  const file = join(workdir, 'bad.yaml');
  writeFileSync(
    file,
    'server:\n  port: -1\nconnections:\n  epic:\n    baseUrl: http://ehr.example.org/fhir\n',
  );
  const run = runCli(['start'], {
    cwd: workdir,
    env: cleanEnv({ CONTINUUM_CONFIG: file, CONTINUUM_DATA_DIR: join(workdir, 'v2') }),
  });
  const code = await run.exited;
  expect(code).not.toBe(0);
  expect(run.output()).toContain('server.port:');
  expect(run.output()).toContain('connections.epic.baseUrl: must be an https URL');

  const check = runCli(['config', 'check'], { cwd: workdir, env: cleanEnv({ CONTINUUM_CONFIG: file }) });
  expect(await check.exited).not.toBe(0);
  expect(check.output()).toContain('connections.epic.baseUrl: must be an https URL');

  const ok = runCli(['config', 'check'], { cwd: workdir, env: cleanEnv({}) });
  expect(await ok.exited).toBe(0);
  expect(ok.output()).toContain('Configuration is valid (embedded defaults)');
});

it('says in one sentence what to do when there is neither REDIS_URL nor redis-server', async () => {
  const run = runCli(['start'], {
    cwd: workdir,
    env: {
      ...cleanEnv({ PORT: String(await freePort()), CONTINUUM_DATA_DIR: join(workdir, 'v3') }),
      PATH: '/nonexistent',
    },
  });
  expect(await run.exited).toBe(1);
  expect(run.output()).toContain('Continuum cannot start: Continuum needs Redis: install redis-server');
});
