/**
 * The mapping workbench's acceptance, as a new integration engineer meets it, against the built
 * gateway (`npm run build` first) as a child process on the built-in sandbox: the sandbox
 * connection runs profile `acme`, at first an exact copy of mappings/default.
 * (a) The engineer points acme at their EHR's MRN system on disk (profile.yaml and the fixtures,
 *     which describe that EHR's records): the file watch reloads it, lookups give no MRN, and
 *     status lists `mrn` as empty on every sampled record.
 * (b) `continuum mappings explain --profile acme --patient pat-0001` shows MRN "no value" and why.
 * (c) In the workbench (headless Chromium) the MRN row is empty with the reason; adding the
 *     sandbox system to identifiers.mrn.systems shows the MRN as they type; they save the case as a
 *     fixture, save the rules and reload.
 * (d) The lookup shows the MRN, from the same process: no restart.
 * Screenshots: test-artifacts/mapping-acceptance-*.png.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { projectRoot } from '../../src/project-root';
import { launchChromium, refuseOtherHosts, screenshot } from '../support/browser';
import {
  cleanEnv,
  freePort,
  runCli,
  startChildGateway,
  stopChildren,
  type ChildGateway,
} from '../support/child-gateway';
import { http } from '../support/http';
import { retargetMrnSystem, SANDBOX_MRN_SYSTEM, writeProfileConfig } from '../support/profile-copy';
import { waitFor } from '../support/wait-for';

jest.setTimeout(240000);

const ACME_MRN_SYSTEM = 'http://acme.example/mrn';

let workdir: string;
let mappingsDir: string;
let gateway: ChildGateway;
let pid: number | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
/** pat-0001 as the gateway serves it under the untouched copy: its MRN and a phone. */
let sandboxMrn: string;
let phone: string;

beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), 'continuum-acceptance-'));
  mappingsDir = join(workdir, 'mappings');
  cpSync(join(projectRoot(), 'mappings', 'default'), join(mappingsDir, 'default'), { recursive: true });
  // The engineer's first step: copy the default profile.
  cpSync(join(projectRoot(), 'mappings', 'default'), join(mappingsDir, 'acme'), { recursive: true });
  writeProfileConfig(workdir, mappingsDir, 'acme');
  gateway = await startChildGateway({ cwd: workdir, dataDir: join(workdir, 'var'), port: await freePort() });
  pid = gateway.child.pid;
  browser = await launchChromium();
});

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await gateway.stop();
  await stopChildren();
  rmSync(workdir, { recursive: true, force: true });
});

async function status(): Promise<any> {
  const res = await http('GET', `${gateway.url}/v1/status`);
  expect(res.status).toBe(200);
  return res.body.mappings;
}

async function patient(): Promise<{ mrn?: string; phones?: string[] }> {
  const res = await http('GET', `${gateway.url}/v1/patients/pat-0001`);
  expect(res.status).toBe(200);
  return res.body;
}

async function lookupByPhone(): Promise<{ id: string; mrn?: string }[]> {
  const res = await http('GET', `${gateway.url}/v1/patients/lookup?phone=${encodeURIComponent(phone)}`);
  expect(res.status).toBe(200);
  return res.body.matches;
}

it('(start) serves the copy as it serves default: the MRN is there', async () => {
  const running = await status();
  expect(running.profiles).toEqual([expect.objectContaining({ name: 'acme' })]);
  const before = await patient();
  expect(before.mrn).toMatch(/^MRN\d+$/);
  sandboxMrn = before.mrn!;
  phone = before.phones?.[0] ?? '';
  expect(phone).toMatch(/^\+\d{10,15}$/);
  expect((await lookupByPhone()).find((match) => match.id === 'pat-0001')?.mrn).toBe(sandboxMrn);
});

it('(a) reloads acme retargeted on disk by the file watch: no MRN, and status lists mrn as empty', async () => {
  const before = await status();
  const hashBefore = before.profiles[0].hash as string;
  retargetMrnSystem(join(mappingsDir, 'acme'), ACME_MRN_SYSTEM);
  expect(readFileSync(join(mappingsDir, 'acme', 'profile.yaml'), 'utf8')).toContain(ACME_MRN_SYSTEM);

  const reloaded = await waitFor(
    async () => {
      const now = await status();
      return now.lastReload?.trigger === 'file-change' && now.profiles[0].hash !== hashBefore
        ? now
        : undefined;
    },
    { what: 'the file watch to reload acme', timeoutMs: 30000, intervalMs: 200 },
  );
  expect(reloaded.lastReload).toMatchObject({ ok: true, problems: [] });
  // The samples of real records run with the reload: mrn is empty on every one.
  expect(reloaded.emptyFields).toContainEqual(
    expect.objectContaining({ connection: 'sandbox', profile: 'acme', field: 'mrn', rule: 'read.mrn' }),
  );
  expect((await patient()).mrn).toBeUndefined();
  const match = (await lookupByPhone()).find((m) => m.id === 'pat-0001');
  expect(match).toBeDefined();
  expect(match?.mrn).toBeUndefined();
  // A reload, not a restart.
  expect(gateway.child.pid).toBe(pid);
});

it('(b) explains pat-0001 on the CLI: MRN no value, naming both systems', async () => {
  const run = runCli(
    ['mappings', 'explain', '--profile', 'acme', '--patient', 'pat-0001', '--url', gateway.url],
    {
      cwd: workdir,
      // The key comes from the admin key file in the data folder, as for `continuum ops`.
      env: cleanEnv({ CONTINUUM_DATA_DIR: join(workdir, 'var') }),
    },
  );
  expect(await run.exited).toBe(0);
  const mrn = run
    .output()
    .split('\n')
    .find((line) => line.startsWith('mrn '));
  expect(mrn).toMatch(/^mrn\s+<- patient\.yaml read\.mrn\s+= \(no value: /);
  expect(mrn).toContain(ACME_MRN_SYSTEM);
  expect(mrn).toContain(SANDBOX_MRN_SYSTEM);
  expect(mrn).toMatch(/add it to identifiers\.mrn\.systems in profile\.yaml\)$/);
  expect(run.output()).not.toContain(sandboxMrn);
});

it('(c, d) fixes it in the workbench, saves, reloads; the lookup shows the MRN, same process', async () => {
  page = await browser!.newPage({ viewport: { width: 1440, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const elsewhere = await refuseOtherHosts(page);
  const shot = async (name: string): Promise<void> => {
    await page!.evaluate('window.scrollTo(0, 0)');
    await screenshot(page!, `mapping-acceptance-${name}`);
  };
  const onPage = <T>(what: string, check: () => Promise<T | undefined>): Promise<T> =>
    waitFor(check, { what: `the workbench to show ${what}`, timeoutMs: 20000, intervalMs: 100 });
  const mrnRow = page.locator('#model tr[data-field="mrn"]');
  const mrnValue = async () => (await mrnRow.locator('[data-role="value"]').textContent()) ?? '';

  await page.goto(`${gateway.url}/console/mappings`);
  await page.getByLabel('API key').fill(gateway.key!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await onPage('acme in the picker', async () =>
    (await page!.locator('#profile option[value="acme"]').count()) === 1 ? true : undefined,
  );
  await page.getByLabel('Profile', { exact: true }).selectOption('acme');
  await page.getByLabel('Resource', { exact: true }).selectOption('Patient');
  await page.getByLabel('Record id', { exact: true }).fill('pat-0001');
  await page.getByRole('button', { name: 'Explain' }).click();
  await onPage('the MRN row', async () => ((await mrnRow.count()) === 1 ? true : undefined));
  const empty = await mrnValue();
  expect(empty).toContain('no value');
  expect(empty).toContain(ACME_MRN_SYSTEM);
  expect(empty).toContain(SANDBOX_MRN_SYSTEM);
  expect(empty).toContain('add it to identifiers.mrn.systems in profile.yaml');
  await shot('mrn-empty');

  // The profile's MRN systems, one a line, above the read rules: add the sandbox's as they type.
  const systems = page.getByLabel('MRN systems, one a line');
  expect(await systems.inputValue()).toBe(ACME_MRN_SYSTEM);
  await systems.press('End');
  await page.keyboard.type(`\n${SANDBOX_MRN_SYSTEM}`);
  await onPage('the MRN as typed', async () =>
    (await mrnValue()) === JSON.stringify(sandboxMrn) ? true : undefined,
  );
  // Typed only: neither the file nor what the API serves changed.
  expect(readFileSync(join(mappingsDir, 'acme', 'profile.yaml'), 'utf8')).not.toContain(SANDBOX_MRN_SYSTEM);
  expect((await patient()).mrn).toBeUndefined();
  await shot('mrn-typed');

  await page.getByLabel('Fixture name').fill('sandbox-mrn-system');
  await page.getByLabel('Description', { exact: true }).fill('MRN in the sandbox system, typed MR');
  await page.getByRole('button', { name: 'Save as fixture' }).click();
  const fixtureFile = join(mappingsDir, 'acme', 'fixtures', 'read', 'sandbox-mrn-system.json');
  await onPage('the fixture saved', async () =>
    ((await page!.locator('#fixture-outcome').textContent()) ?? '').startsWith('Fixture saved')
      ? true
      : undefined,
  );
  expect(existsSync(fixtureFile)).toBe(true);
  expect(JSON.parse(readFileSync(fixtureFile, 'utf8')).expected.mrn).toBe(sandboxMrn);

  await page.getByRole('button', { name: 'Save rules to profile' }).click();
  await onPage('the rules saved', async () =>
    ((await page!.locator('#rules-outcome').textContent()) ?? '').startsWith('Saved') ? true : undefined,
  );
  const profileYaml = readFileSync(join(mappingsDir, 'acme', 'profile.yaml'), 'utf8');
  expect(profileYaml).toContain(`- ${ACME_MRN_SYSTEM}`);
  expect(profileYaml).toContain(`- ${SANDBOX_MRN_SYSTEM}`);
  expect(profileYaml).toContain("# The EHR's MRN systems");

  await page.getByRole('button', { name: 'Reload profiles' }).click();
  await onPage('the reload outcome', async () =>
    ((await page!.locator('#reload-outcome').textContent()) ?? '').startsWith('Reloaded') ? true : undefined,
  );
  const after = await status();
  const runningHash = (after.profiles[0].hash as string).slice(0, 12);
  // The page shows the running profile again, now with both systems saved, and the MRN from it.
  await onPage('the running profile with its MRN', async () =>
    (await mrnValue()) === JSON.stringify(sandboxMrn) &&
    (await page!.locator('#edit-state').textContent()) === 'The running profile, as loaded.' &&
    ((await page!.locator('#profile-facts').textContent()) ?? '').includes(runningHash)
      ? true
      : undefined,
  );
  expect(await systems.inputValue()).toBe(`${ACME_MRN_SYSTEM}\n${SANDBOX_MRN_SYSTEM}`);
  await shot('reloaded');
  expect(after.lastReload).toMatchObject({ ok: true, problems: [] });
  expect(after.emptyFields.filter((f: { field: string }) => f.field === 'mrn')).toEqual([]);

  // (d) What the call center sees, from the same process.
  expect((await lookupByPhone()).find((m) => m.id === 'pat-0001')?.mrn).toBe(sandboxMrn);
  expect((await patient()).mrn).toBe(sandboxMrn);
  expect(gateway.child.pid).toBe(pid);
  expect(gateway.child.exitCode).toBeNull();
  expect(gateway.output()).not.toContain(sandboxMrn);

  expect(elsewhere).toEqual([]);
  expect(errors).toEqual([]);
});
