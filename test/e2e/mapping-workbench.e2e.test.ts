/**
 * The mapping workbench in headless Chromium, as an integration engineer meets it: a new profile
 * `acme` (mappings/default with its own MRN system, see support/acme-profile.ts) leaves a sandbox
 * patient's MRN empty; the workbench says why, the engineer fixes the rule as they type, saves the
 * case as a fixture, saves the rule and reloads without a restart, and the API's lookup then shows
 * the MRN. A write a rule failed on is opened from the console and retried. The gateway is
 * real (Redis, the sandbox EHR, a mappings folder on disk); what the page shows is checked on the
 * page and what it did is checked on disk and through the API. Screenshots go to
 * test-artifacts/mapping-workbench-*.png.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  ACME_MRN_RULE,
  ACME_MRN_SYSTEM as ACME_MRN,
  SANDBOX_MRN_SYSTEM as SANDBOX_MRN,
  acmeMappingsDir,
} from '../support/acme-profile';
import { launchChromium, refuseOtherHosts, screenshot } from '../support/browser';
import { http } from '../support/http';
import { scopedClientKey } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180000);

/** The engineer's fix: this EHR keeps some MRNs under the sandbox's system too. */
const FIXED_MRN_RULE = ACME_MRN_RULE.replace(
  'system in %mrnSystems',
  `(system in %mrnSystems or system = '${SANDBOX_MRN}')`,
);
/** The same rule with its `where(` left open: the parser's error must say where. */
const BROKEN_MRN_RULE = "identifier.where(system = '" + SANDBOX_MRN + "'.value.first()";
const THROWING_CITY_RULE = '$length(city) > 24 ? $error("no rule for this city") : city';
const LONG_CITY = 'Canaryville-upon-the-Long-River';

let gw: TestGateway;
let browser: Browser | undefined;
let page: Page;
let mappingsDir: string;
/** Errors the page logged: a script error, a refused request, a resource the content policy blocked. */
let pageErrors: string[];
/** Requests the page tried to send anywhere but this gateway. */
let elsewhere: string[];
/** The gateway's refusals the page met: `<status> <path>`. */
let refusals: string[];
let engineerKey: string;
/** pat-0001's MRN as the sandbox EHR stores it. */
let sandboxMrn: string;

beforeAll(async () => {
  // The new profile: default's copy whose EHR keeps MRNs under its own system, and only there.
  mappingsDir = acmeMappingsDir();
  const acme = join(mappingsDir, 'acme');
  expect(readFileSync(join(acme, 'profile.yaml'), 'utf8')).toContain(ACME_MRN);
  // A profile bug that only shows on some records: the address template throws on long city names.
  const patientYaml = join(acme, 'patient.yaml');
  const withBug = readFileSync(patientYaml, 'utf8').replace(
    '"city": city,',
    `"city": ${THROWING_CITY_RULE},`,
  );
  expect(withBug).toContain(THROWING_CITY_RULE);
  writeFileSync(patientYaml, withBug);

  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 20 },
      connections: { sandbox: { mappingProfile: 'acme' } },
      // Reloads come from the page's button, not from the saved file being noticed.
      mappings: { dir: mappingsDir, watch: false },
    },
  });
  const record = await http('GET', `${gw.fhirBase}/Patient/pat-0001`);
  expect(record.status).toBe(200);
  const identifiers = record.body.identifier as { system?: string; value?: string }[];
  sandboxMrn = identifiers.find((i) => i.system === SANDBOX_MRN)?.value ?? '';
  expect(sandboxMrn).toMatch(/^MRN\d+$/);

  engineerKey = (
    await scopedClientKey(gw.prefix, 'integration-engineer', ['mappings:write', 'patients:read'])
  ).key;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await gw.stop();
  rmSync(mappingsDir, { recursive: true, force: true });
});
beforeEach(async () => {
  page = await browser!.newPage({ viewport: { width: 1440, height: 1000 } });
  pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  elsewhere = await refuseOtherHosts(page);
  refusals = [];
  page.on('response', (response) => {
    if (response.status() >= 400) refusals.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
});
afterEach(async () => {
  await page.close();
});

/** The whole page, or with `fullPage: false` what the engineer has in view (all rules open is long). */
async function shot(name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  // From the top: the record's pane stays in view as the page scrolls, which a full-page capture would freeze mid-page.
  if (options.fullPage !== false) await page.evaluate('window.scrollTo(0, 0)');
  await screenshot(page, `mapping-workbench-${name}`, options);
}

async function signIn(key: string, hash = ''): Promise<void> {
  await page.goto(`${gw.url}/console/mappings${hash}`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Waits until the page shows what `check` looks for; fails with what it last saw. */
async function onPage<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15000): Promise<T> {
  return waitFor(check, { what: `the workbench to show ${what}`, timeoutMs, intervalMs: 100 });
}

const mrnRow = () => page.locator('#model tr[data-field="mrn"]');
const mrnValue = async () => (await mrnRow().locator('[data-role="value"]').textContent()) ?? '';
const mrnError = async () => (await mrnRow().locator('[data-role="error"]').textContent()) ?? '';

async function lookUpMrn(): Promise<unknown> {
  const res = await http('GET', `${gw.url}/v1/patients/pat-0001`, {
    headers: { authorization: `Bearer ${engineerKey}` },
  });
  expect(res.status).toBe(200);
  return res.body.mrn;
}

async function explainPatient(id: string): Promise<void> {
  await onPage('the acme profile to pick', async () =>
    (await page.locator('#profile option[value="acme"]').count()) === 1 ? true : undefined,
  );
  await page.getByLabel('Profile', { exact: true }).selectOption('acme');
  await page.getByLabel('Resource', { exact: true }).selectOption('Patient');
  await page.getByLabel('Record id', { exact: true }).fill(id);
  await page.getByRole('button', { name: 'Explain' }).click();
  await onPage('the model of the record', async () => ((await mrnRow().count()) === 1 ? true : undefined));
}

it('finds why the MRN is empty, fixes the rule as the engineer types, saves, reloads, and the lookup shows the MRN', async () => {
  // The running profile leaves the MRN out of what the API serves.
  expect(await lookUpMrn()).toBeUndefined();

  await signIn(engineerKey);
  await explainPatient('pat-0001');
  // The record on the left, as the EHR holds it.
  expect(await page.locator('#resource pre').textContent()).toContain(`"value": "${sandboxMrn}"`);
  // No value, and why: the record's systems against the profile's.
  const empty = await mrnValue();
  expect(empty).toContain('no value');
  expect(empty).toContain(ACME_MRN);
  expect(empty).toContain(SANDBOX_MRN);
  expect(await mrnRow().locator('td.rule').textContent()).toBe('patient.yaml read.mrn');
  // The other fields read as before: the name is there.
  expect(
    await page.locator('#model tr[data-field="name.family"] [data-role="value"]').textContent(),
  ).not.toContain('no value');
  await shot('mrn-empty');

  const box = page.getByLabel('Expression of mrn');
  const original = await box.inputValue();
  expect(original).toContain('%mrnSystems');

  // A broken expression: the error says where, as the engineer types; nothing else breaks.
  await box.fill(BROKEN_MRN_RULE);
  const error = await onPage('the parse error of the edited rule', async () => {
    const text = await mrnError();
    return text.length > 0 ? text : undefined;
  });
  expect(error).toMatch(/line\D{0,3}1\D{1,4}column\D{0,3}\d+/);
  expect(await page.locator('#edit-state').textContent()).toContain('1 rule edited');
  await shot('broken-rule');

  // The fix, typed: the value appears and the error goes.
  await box.fill(FIXED_MRN_RULE.slice(0, -1));
  await box.press('End');
  await page.keyboard.type(FIXED_MRN_RULE.slice(-1));
  await onPage('the MRN found by the edited rule', async () =>
    (await mrnValue()) === JSON.stringify(sandboxMrn) ? true : undefined,
  );
  expect(await mrnError()).toBe('');
  // Only edited here: the running profile and the file on disk are unchanged so far.
  expect(await lookUpMrn()).toBeUndefined();
  expect(readFileSync(join(mappingsDir, 'acme', 'patient.yaml'), 'utf8')).not.toContain(SANDBOX_MRN);
  await shot('mrn-fixed');

  // The case as a fixture, expected = what the edited profile gives.
  await page.getByLabel('Fixture name').fill('untyped-mrn-under-sandbox-system');
  await page.getByLabel('Description', { exact: true }).fill('MRN under the sandbox system, not typed MR');
  await page.getByRole('button', { name: 'Save as fixture' }).click();
  const fixtureFile = join(mappingsDir, 'acme', 'fixtures', 'read', 'untyped-mrn-under-sandbox-system.json');
  await onPage('the fixture saved', async () =>
    ((await page.locator('#fixture-outcome').textContent()) ?? '').startsWith('Fixture saved')
      ? true
      : undefined,
  );
  expect(existsSync(fixtureFile)).toBe(true);
  const fixture = JSON.parse(readFileSync(fixtureFile, 'utf8'));
  expect(fixture.expected.mrn).toBe(sandboxMrn);
  expect(fixture.input.id).toBe('pat-0001');

  // Save the rule: written to the file, its comments kept; not running yet.
  await page.getByRole('button', { name: 'Save rules to profile' }).click();
  await onPage('the rules saved', async () =>
    ((await page.locator('#rules-outcome').textContent()) ?? '').startsWith('Saved') ? true : undefined,
  );
  expect(await page.locator('#rules-outcome').textContent()).toContain('patient.yaml');
  const saved = readFileSync(join(mappingsDir, 'acme', 'patient.yaml'), 'utf8');
  expect(saved).toContain(`system = '${SANDBOX_MRN}'`);
  expect(saved).toContain('# FHIR R4 Patient <-> call-center patient model');
  expect(await lookUpMrn()).toBeUndefined();

  // Saved again from the same page: it checks against the files it wrote itself, so that goes.
  const rulesOutcome = async (): Promise<string | undefined> => {
    const text = (await page.locator('#rules-outcome').textContent()) ?? '';
    return text === '' ? undefined : text;
  };
  await page.locator('#rules-outcome').evaluate((node) => {
    node.textContent = '';
  });
  await page.getByRole('button', { name: 'Save rules to profile' }).click();
  expect(await onPage('the second save', rulesOutcome)).toMatch(/^Saved: the files already hold these rules/);
  // Someone changes the profile on disk meanwhile: the page's next save is refused, not written over it.
  const changedOnDisk = `${saved}# changed by hand\n`;
  writeFileSync(join(mappingsDir, 'acme', 'patient.yaml'), changedOnDisk);
  await page.locator('#rules-outcome').evaluate((node) => {
    node.textContent = '';
  });
  await page.getByRole('button', { name: 'Save rules to profile' }).click();
  expect(await onPage('the refused save', rulesOutcome)).toBe(
    'Not saved: the profile changed on disk since this page read it; reload the page (your edits are not saved).',
  );
  expect(readFileSync(join(mappingsDir, 'acme', 'patient.yaml'), 'utf8')).toBe(changedOnDisk);
  await shot('save-conflict');

  // Reload without a restart: the fixed profile runs, the lookup shows the MRN.
  await page.getByRole('button', { name: 'Reload profiles' }).click();
  await onPage('the reload outcome', async () =>
    ((await page.locator('#reload-outcome').textContent()) ?? '').startsWith('Reloaded') ? true : undefined,
  );
  expect(await page.locator('#reload-outcome').textContent()).toMatch(/acme now runs [0-9a-f]{12}/);
  await onPage('the MRN from the running profile', async () =>
    (await mrnValue()) === JSON.stringify(sandboxMrn) &&
    (await page.locator('#edit-state').textContent()) === 'The running profile, as loaded.'
      ? true
      : undefined,
  );
  await shot('reloaded');
  expect(await lookUpMrn()).toBe(sandboxMrn);

  const status = await http('GET', `${gw.url}/v1/status`);
  expect(status.body.mappings.lastReload).toMatchObject({ ok: true, trigger: 'api' });

  expect(elsewhere).toEqual([]);
  // The one refusal is the save on files changed by hand.
  expect(refusals).toEqual(['409 /v1/mappings/profiles/acme/rules']);
  // The browser notes that refusal in its console; nothing else went wrong on the page.
  expect(pageErrors).toEqual([
    'Failed to load resource: the server responded with a status of 409 (Conflict)',
  ]);
});

it('previews a change as a JSON diff without sending it', async () => {
  const before = await http('GET', `${gw.fhirBase}/Patient/pat-0002`);
  await signIn(engineerKey);
  await explainPatient('pat-0002');
  await page.getByLabel('Change (JSON)').fill('{ "email": "workbench.preview@example.org" }');
  await page.getByRole('button', { name: 'Preview the change' }).click();
  const rows = page.locator('#try table.diff tbody tr');
  await onPage('the diff', async () => ((await rows.count()) > 0 ? true : undefined));
  const diff = (await rows.allTextContents()).join('\n');
  expect(diff).toContain('/telecom');
  expect(diff).toContain('workbench.preview@example.org');
  expect(await page.locator('#try .request').textContent()).toContain('PUT');
  await shot('try');
  // Nothing reached the EHR: same version, no such address.
  const after = await http('GET', `${gw.fhirBase}/Patient/pat-0002`);
  expect(after.body.meta.versionId).toBe(before.body.meta.versionId);
  expect(JSON.stringify(after.body)).not.toContain('workbench.preview@example.org');
  expect(elsewhere).toEqual([]);
  expect(refusals).toEqual([]);
  expect(pageErrors).toEqual([]);
});

it('opens a write that needs review on its record and failing rule, and retries it once the fix runs', async () => {
  const address = {
    line: ['1 Harbour Rd'],
    city: LONG_CITY,
    state: 'MA',
    postalCode: '02110',
    country: 'US',
  };
  const accepted = await http('PATCH', `${gw.url}/v1/patients/pat-0003`, {
    body: { address },
    headers: { 'idempotency-key': 'workbench-long-city' },
  });
  expect(accepted.status).toBe(202);
  const operationId = accepted.body.operationId as string;
  const review = await waitFor(
    async () => {
      const r = await http('GET', `${gw.url}/v1/operations/${operationId}`);
      return r.body.status === 'needs-review' ? r.body : undefined;
    },
    { what: 'the write to need review', timeoutMs: 30000 },
  );
  expect(review.lastError.mapping).toMatchObject({
    profile: 'acme',
    file: 'patient.yaml',
    field: 'write.address.template',
  });

  // From the operator console's list to the workbench, with the same sign-in.
  const engineer = await scopedClientKey(gw.prefix, 'on-call-engineer', [
    'mappings:write',
    'operations:read',
    'operations:admin',
  ]);
  await page.goto(`${gw.url}/console`);
  await page.getByLabel('API key').fill(engineer.key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const row = page.locator(`#writes tr[data-operation="${operationId}"]`);
  await onPage('the needs-review write in the console', async () =>
    (await row.count()) === 1 ? true : undefined,
  );
  await row.getByRole('link', { name: 'Open in the mapping workbench' }).click();
  await page.waitForURL(`${gw.url}/console/mappings#op=${operationId}`);

  const failing = page.locator('tr.failing');
  await onPage('the failing rule highlighted', async () =>
    (await failing.count()) === 1 ? true : undefined,
  );
  expect(await failing.getAttribute('data-rule')).toBe('patient.yaml write.address.template');
  expect(await page.locator('#operation .body').textContent()).toContain('write.address.template');
  expect(await page.getByLabel('Record id', { exact: true }).inputValue()).toBe('pat-0003');
  expect(await page.getByLabel('Profile', { exact: true }).inputValue()).toBe('acme');
  // Retry waits for the fix to run.
  const retry = page.getByRole('button', { name: 'Retry the write' });
  expect(await retry.isDisabled()).toBe(true);
  // The page scrolled the failing rule into view: that is the screenshot.
  await shot('needs-review', { fullPage: false });

  // Fix the template; the preview shows the address the write would now send, nothing is sent.
  const template = page.getByLabel('Source of patient.yaml write.address.template');
  const buggy = await template.inputValue();
  expect(buggy).toContain(THROWING_CITY_RULE);
  await template.fill(buggy.replace(THROWING_CITY_RULE, 'city'));
  await page.getByLabel('Change (JSON)').fill(JSON.stringify({ address }));
  await page.getByRole('button', { name: 'Preview the change' }).click();
  await onPage('the address in the preview', async () =>
    ((await page.locator('#try table.diff').textContent()) ?? '').includes(LONG_CITY) ? true : undefined,
  );
  await page.getByRole('button', { name: 'Save rules to profile' }).click();
  await onPage('the rules saved', async () =>
    ((await page.locator('#rules-outcome').textContent()) ?? '').startsWith('Saved') ? true : undefined,
  );
  await page.getByRole('button', { name: 'Reload profiles' }).click();
  await onPage('the retry offered', async () => ((await retry.isEnabled()) ? true : undefined));
  await retry.click();
  const done = await waitFor(
    async () => {
      const r = await http('GET', `${gw.url}/v1/operations/${operationId}`);
      return r.body.status === 'succeeded' ? r.body : undefined;
    },
    { what: 'the retried write to succeed', timeoutMs: 30000 },
  );
  // Retried with the fixed version, and the receipt's history says so.
  const notes = (done.history as { note?: string }[]).map((h) => h.note ?? '');
  expect(notes).toContainEqual(
    expect.stringMatching(/^retried by an operator; profile acme [0-9a-f]{12} \(was [0-9a-f]{12}\)$/),
  );
  expect(done.profile.hash).not.toBe(review.profile.hash);
  const record = await http('GET', `${gw.fhirBase}/Patient/pat-0003`);
  expect(JSON.stringify(record.body.address)).toContain(LONG_CITY);
  // The page follows the write to its end.
  await onPage('the write succeeded', async () =>
    (await page.locator('#operation [data-field="status"]').textContent()) === 'succeeded' ? true : undefined,
  );
  await page.locator('#operation').scrollIntoViewIfNeeded();
  await shot('retried', { fullPage: false });
  expect(elsewhere).toEqual([]);
  // Only the console's panels this key may not see were refused (403, logged by the browser).
  expect(refusals.filter((r) => !/^403 \/v1\/(events\/subscribers|operations\/replay)$/.test(r))).toEqual([]);
  expect(pageErrors.filter((e) => !e.includes('status of 403'))).toEqual([]);
});

it('explains a pasted resource, and puts what it holds on the page as text, never as markup', async () => {
  const hostile = '<img src=x onerror="window.__hostile=1"><b>Bold</b>';
  const pasted = {
    resourceType: 'Patient',
    id: 'pasted-0001',
    identifier: [{ system: ACME_MRN, value: 'A-0001' }],
    name: [{ use: 'official', family: hostile, given: ['Ann'] }],
  };
  await signIn(engineerKey);
  await onPage('the acme profile to pick', async () =>
    (await page.locator('#profile option[value="acme"]').count()) === 1 ? true : undefined,
  );
  await page.getByText('Or paste a FHIR resource').click();
  await page.getByLabel('FHIR JSON', { exact: false }).fill(JSON.stringify(pasted));
  await page.getByRole('button', { name: 'Explain' }).click();
  await onPage('the model of the pasted record', async () =>
    (await mrnRow().count()) === 1 ? true : undefined,
  );
  // The profile's own MRN system: found, no record read from the EHR.
  expect(await mrnValue()).toBe('"A-0001"');
  expect(await page.locator('#model tr[data-field="name.family"] [data-role="value"]').textContent()).toBe(
    JSON.stringify(hostile),
  );
  expect(await page.locator('#resource pre').textContent()).toContain('onerror');
  expect(await page.locator('#workbench img, #workbench b').count()).toBe(0);
  expect(await page.evaluate('window.__hostile')).toBeUndefined();
  expect(elsewhere).toEqual([]);
  expect(refusals).toEqual([]);
  expect(pageErrors).toEqual([]);
});

it('tells a key without mappings:write which scope it needs', async () => {
  const reader = await scopedClientKey(gw.prefix, 'console-reader', ['operations:read']);
  await signIn(reader.key);
  const notice = page.locator('#forbidden');
  await onPage('the missing scope', async () => ((await notice.isVisible()) ? true : undefined));
  expect(await notice.textContent()).toContain('mappings:write');
  expect(await page.locator('#pick').isVisible()).toBe(false);
  await shot('forbidden');
  // One sign-in serves the operator console too: the same key, the same tab.
  await page.getByRole('link', { name: 'Operator console' }).click();
  await page.waitForURL(`${gw.url}/console`);
  await onPage('the console signed in', async () =>
    (await page.locator('#panels').isVisible()) ? true : undefined,
  );
  expect(elsewhere).toEqual([]);
});

it('serves the workbench under the console policy: no inline script, no other origin', async () => {
  for (const path of ['/console/mappings', '/console/mappings.js', '/console/mappings.css']) {
    const res = await http('GET', `${gw.url}${path}`, { anonymous: true });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
  }
  const html = await http('GET', `${gw.url}/console/mappings`, { anonymous: true });
  expect(String(html.body)).not.toMatch(/<script(?![^>]*\bsrc=)/);
  expect(String(html.body)).not.toMatch(/\son[a-z]+=/);
  // The page holds nothing; the API behind it still wants a key with the scope.
  expect((await http('GET', `${gw.url}/v1/mappings/profiles`, { anonymous: true })).status).toBe(401);
});
