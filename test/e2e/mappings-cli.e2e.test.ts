/**
 * `continuum mappings explain|try` as a new integration engineer meets them (the built CLI against
 * a running gateway on the built-in sandbox): a copy of the default profile, `acme`, whose EHR
 * keeps MRNs under its own system; explain on a sandbox patient shows MRN empty and says why; try
 * shows the change a correction would send, and nothing reaches the EHR.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACME_MRN_SYSTEM, acmeMappingsDir, SANDBOX_MRN_SYSTEM } from '../support/acme-profile';
import {
  cleanEnv,
  freePort,
  runCli,
  startChildGateway,
  stopChildren,
  type ChildGateway,
} from '../support/child-gateway';
import { http } from '../support/http';
import { writeProfileConfig } from '../support/profile-copy';

jest.setTimeout(120000);

let workdir: string;
let mappingsDir: string;
let gateway: ChildGateway;
beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), 'continuum-mappings-cli-'));
  mappingsDir = acmeMappingsDir();
  writeProfileConfig(workdir, mappingsDir, 'acme');
  gateway = await startChildGateway({ cwd: workdir, dataDir: join(workdir, 'var'), port: await freePort() });
});
afterAll(async () => {
  await gateway.stop();
  await stopChildren();
  rmSync(workdir, { recursive: true, force: true });
  rmSync(mappingsDir, { recursive: true, force: true });
});

async function mappings(...args: string[]): Promise<{ code: number | null; output: string }> {
  const run = runCli(['mappings', ...args], {
    cwd: workdir,
    env: cleanEnv({ CONTINUUM_DATA_DIR: join(workdir, 'var') }),
  });
  const code = await run.exited;
  return { code, output: run.output() };
}

it('explains a sandbox patient under acme: MRN empty, with the reason', async () => {
  const explained = await mappings(
    'explain',
    '--profile',
    'acme',
    '--patient',
    'pat-0001',
    '--url',
    gateway.url,
  );
  expect(explained.code).toBe(0);
  const mrn = explained.output.split('\n').find((line) => line.startsWith('mrn '));
  expect(mrn).toMatch(/^mrn\s+<- patient\.yaml read\.mrn\s+= \(no value: /);
  expect(mrn).toContain(
    `no identifier has a system in %mrnSystems (${ACME_MRN_SYSTEM}); the record's identifier systems: ${SANDBOX_MRN_SYSTEM}`,
  );
  // The other fields have their values.
  expect(explained.output).toMatch(/^name\.family\s+<- patient\.yaml read\.name\.family\s+= "[^"]+"$/m);
  expect(explained.output).toMatch(/^birthDate\s+<- patient\.yaml read\.birthDate\s+= "\d{4}-\d{2}-\d{2}"$/m);

  const json = await mappings(
    'explain',
    '--profile',
    'acme',
    '--patient',
    'pat-0001',
    '--url',
    gateway.url,
    '--json',
  );
  const fields = (JSON.parse(json.output) as { fields: { field: string; empty: boolean }[] }).fields;
  expect(fields.find((field) => field.field === 'mrn')?.empty).toBe(true);
});

it('tries a correction and prints the change it would send, sending nothing', async () => {
  const before = await http('GET', `${gateway.url}/sandbox/fhir/Patient/pat-0002`);
  expect(before.status).toBe(200);
  const tried = await mappings(
    'try',
    '--profile',
    'acme',
    '--patient',
    'pat-0002',
    '--change',
    '{"email": "cli-try@example.org"}',
    '--url',
    gateway.url,
  );
  expect(tried.code).toBe(0);
  expect(tried.output).toMatch(/^(add|replace) +\/telecom\/.*cli-try@example\.org/m);
  expect(tried.output).toContain(
    `would send: PUT Patient/pat-0002 If-Match: W/"${(before.body as { meta: { versionId: string } }).meta.versionId}" (not sent)`,
  );
  const after = await http('GET', `${gateway.url}/sandbox/fhir/Patient/pat-0002`);
  expect(after.body).toEqual(before.body);
});

it('refuses an unknown option with the usage, and a profile the gateway does not run with its refusal', async () => {
  const unknown = await mappings('explain', '--profile', 'acme', '--patinet', 'pat-0001');
  expect(unknown.code).toBe(2);
  expect(unknown.output).toContain("Unknown option '--patinet'");
  expect(unknown.output).toContain('continuum mappings explain --profile NAME');
  expect(unknown.output).not.toMatch(/\n\s+at /);

  const missing = await mappings(
    'explain',
    '--profile',
    'nosuch',
    '--patient',
    'pat-0001',
    '--url',
    gateway.url,
  );
  expect(missing.code).toBe(1);
  expect(missing.output).toContain('404 NOT_FOUND');
});
