/**
 * `continuum start` as an operator meets it: a connection to a real EHR on the default profile
 * (the sandbox's MRN system) stops the start with the connection, the profile and the file, and
 * nothing is served. (The zero set-up start on the built-in sandbox is gateway-lifecycle's.)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';
import { cleanEnv, runCli, stopChildren } from '../support/child-gateway';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';

jest.setTimeout(120000);

const prefix = `t-${randomUUID().slice(0, 12)}`;
let workdir: string;
beforeAll(() => {
  workdir = mkdtempSync(join(tmpdir(), 'continuum-e2e-mrn-'));
});
afterAll(async () => {
  await deletePrefix(prefix);
  rmSync(workdir, { recursive: true, force: true });
});
afterEach(stopChildren);

it('refuses to start a real EHR on the default profile, saying what to change', async () => {
  const file = join(workdir, 'epic.yaml');
  writeFileSync(
    file,
    [
      'server: { port: 0 }',
      `redis: { keyPrefix: ${prefix}, requireDurability: false }`,
      'connections:',
      '  epic:',
      // Loopback, and nothing listens there: the start must stop before asking the EHR anything.
      '    baseUrl: http://127.0.0.1:9/fhir/R4',
      '',
    ].join('\n'),
  );
  const run = runCli(['start'], {
    cwd: workdir,
    env: cleanEnv({
      CONTINUUM_CONFIG: file,
      CONTINUUM_DATA_DIR: join(workdir, 'var'),
      REDIS_URL: TEST_REDIS_URL,
    }),
  });
  expect(await run.exited).toBe(2);
  const output = run.output();
  expect(output).toContain(join(projectRoot(), 'mappings', 'default', 'profile.yaml'));
  expect(output).toContain('identifiers.mrn.systems');
  expect(output).toContain('connections.epic (http://127.0.0.1:9/fhir/R4) uses profile "default"');
  expect(output).toContain('http://sandbox.continuum.example/mrn');
  expect(output).toContain('connections.epic.mappingProfile');
  expect(output).not.toContain('Continuum is ready');
});

it('finds the same problem with config check, before a deployment, and passes a declared sandbox', async () => {
  const file = join(workdir, 'check.yaml');
  const config = (sandboxEhr: boolean): string =>
    [
      `redis: { keyPrefix: ${prefix} }`,
      'connections:',
      '  epic:',
      '    baseUrl: http://127.0.0.1:9/fhir/R4',
      ...(sandboxEhr ? ['    sandboxEhr: true'] : []),
      '',
    ].join('\n');
  const check = async (): Promise<{ code: number | null; output: string }> => {
    const run = runCli(['config', 'check'], {
      cwd: workdir,
      env: cleanEnv({ CONTINUUM_CONFIG: file, CONTINUUM_DATA_DIR: join(workdir, 'var') }),
    });
    const code = await run.exited;
    return { code, output: run.output() };
  };

  writeFileSync(file, config(false));
  const refused = await check();
  expect(refused.code).toBe(2);
  expect(refused.output).toContain('connections.epic (http://127.0.0.1:9/fhir/R4) uses profile "default"');

  writeFileSync(file, config(true));
  const passed = await check();
  expect(passed.code).toBe(0);
  expect(passed.output).toContain('Configuration is valid');
  expect(passed.output).toMatch(/Mapping profiles: default \([0-9a-f]{12}\)/);
});
