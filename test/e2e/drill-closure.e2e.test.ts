/**
 * `continuum drill run --scenario closure` as a crisis lead runs it: the busiest sandbox site is
 * closed through the real closures API while calls go on and the EHR goes down for a phase; the
 * report's closure figures are checked here against the EHR's own records, and its page looked at.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, refuseOtherHosts, screenshot } from '../support/browser';
import { cleanEnv, runCli, stopChildren } from '../support/child-gateway';
import { http } from '../support/http';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { phiFound } from '../support/phi-words';

jest.setTimeout(240_000);

const OPERATION_SYSTEM = 'urn:continuum:operation';

let workdir: string;
let gw: TestGateway;
beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), 'continuum-drill-closure-'));
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.stop();
  await stopChildren();
  rmSync(workdir, { recursive: true, force: true });
});

async function readAll(type: string): Promise<any[]> {
  const out: any[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = (await http('GET', `${gw.fhirBase}/${type}?_count=1000&_offset=${offset}`)).body;
    const resources = (page.entry ?? []).map((e: any) => e.resource);
    out.push(...resources);
    if (resources.length < 1000) return out;
  }
}

const actor = (a: any, type: string): string | undefined =>
  (a.participant ?? [])
    .map((p: any) => p.actor?.reference as string | undefined)
    .find((r: string | undefined) => r?.startsWith(`${type}/`))
    ?.slice(type.length + 1);

it('closes the busiest site once: every visit changed once in the EHR, one callback per patient, nothing outside', async () => {
  const out = join(workdir, 'closure');
  // A 5-minute timeline ten times faster: 6 s baseline, 4.5 s closure, 7.5 s EHR down, 12 s recovery.
  const run = runCli(
    [
      'drill',
      'run',
      '--scenario',
      'closure',
      '--duration',
      '5m',
      '--compress',
      '10',
      '--url',
      gw.url,
      '--key',
      gw.key,
      '--rate',
      '6',
      '--out',
      out,
    ],
    { cwd: workdir, env: cleanEnv({}) },
  );
  const code = await run.exited;
  const output = run.output();
  console.log(output);
  if (code !== 0) {
    const json = readdirSync(out).find((n) => n.endsWith('.json'));
    if (json !== undefined) {
      const r = JSON.parse(readFileSync(join(out, json), 'utf8'));
      console.log(
        JSON.stringify(
          { closure: { ...r.closure, samples: r.closure?.samples?.slice(-3) }, staging: r.staging },
          null,
          1,
        ),
      );
    }
  }
  expect(output).toMatch(/lost 0, duplicated 0/);
  expect(output).toMatch(
    /closure clo_\w+ of loc-\d+: appointments \d+, changed once \d+, already as wanted \d+, duplicates 0, unchanged 0, outside scope 0/,
  );
  expect(code).toBe(0);
  const names = readdirSync(out);
  const report = JSON.parse(
    readFileSync(
      join(
        out,
        names.find((n) => n.endsWith('.json'))!,
      ),
      'utf8',
    ),
  );
  const html = readFileSync(
    join(
      out,
      names.find((n) => n.endsWith('.html'))!,
    ),
    'utf8',
  );

  expect(report.phases.map((p: any) => [p.name, p.stage, p.staged])).toEqual([
    ['baseline', 'none', true],
    ['site-closure', 'site-closure', true],
    ['closure-ehr-down', 'ehr-down', true],
    ['recovery', 'none', true],
  ]);
  expect(report.staging.map((a: any) => [a.action.replace(/loc-\d+/, 'loc'), a.status])).toEqual([
    ['closure dry run', 200],
    ['closure of loc', 202],
    ['EHR down', 200],
    ['EHR up', 200],
  ]);
  const closure = report.closure;
  const check = closure.check;
  expect(closure.passed).toBe(true);

  // The closure as the gateway tells it, and as the EHR shows it: read here, not from the report.
  const view = (await http('GET', `${gw.url}/v1/crisis/closures/${closure.id}`)).body;
  expect(view.status).toBe('completed');
  const since = Date.parse(view.createdAt);
  const from = Date.parse(closure.from);
  const to = Date.parse(closure.to);
  const appointments = await readAll('Appointment');
  const changed = appointments.filter(
    (a) => a.meta.versionId !== '1' && Date.parse(a.meta.lastUpdated) >= since,
  );
  // What the closure was about: every visit at the site in the window that existed when it was submitted.
  const inScope = appointments.filter((a) => {
    const start = Date.parse(a.start);
    const created = a.meta.versionId === '1' ? Date.parse(a.meta.lastUpdated) : 0;
    return actor(a, 'Location') === closure.location && start >= from && start < to && created < since;
  });
  const modeOf = (a: any) =>
    (a.extension ?? []).find((e: any) => String(e.url).endsWith('/appointment-mode'))?.valueCode;
  // Nothing outside the closed site and window changed.
  const outside = changed.filter((a) => {
    const start = Date.parse(a.start);
    return actor(a, 'Location') !== closure.location || start < from || start >= to;
  });
  expect(outside).toEqual([]);
  expect(changed.length).toBeGreaterThan(0);
  let once = 0;
  for (const a of changed) {
    const versions = (await http('GET', `${gw.fhirBase}/Appointment/${a.id}/_history?_count=100`)).body.entry;
    if (versions.filter((v: any) => Date.parse(v.resource.meta.lastUpdated) >= since).length === 1) once++;
  }
  expect(once).toBe(changed.length);
  // Every one of them is a video visit now: changed once by the closure, or a video visit already.
  const open = inScope.filter((a) => ['booked', 'pending', 'proposed'].includes(a.status));
  expect(open.map(modeOf).filter((m) => m !== 'video')).toEqual([]);
  const changedIds = new Set(changed.map((a) => a.id));
  const already = open.filter((a) => !changedIds.has(a.id));
  expect(check).toMatchObject({
    appointments: changed.length + already.length,
    changedOnce: changed.length,
    alreadyAsWanted: already.length,
    duplicates: 0,
    unchanged: 0,
    outsideScope: 0,
    callbacksOutsideScope: 0,
  });
  expect(view.appointments).toMatchObject({ total: check.appointments, done: check.appointments, failed: 0 });

  // One callback Task per affected patient, found by its operation's business identifier.
  const patients = new Set(open.map((a) => actor(a, 'Patient')));
  const loadOps = new Set(report.writeOutcomes.map((o: any) => o.operationId));
  const tasks = (await readAll('Task')).filter((t) => {
    const op = (t.identifier ?? []).find((i: any) => i.system === OPERATION_SYSTEM)?.value;
    return op !== undefined && !loadOps.has(op) && Date.parse(t.authoredOn) >= since - 1000;
  });
  const perPatient = new Map<string, number>();
  for (const t of tasks) {
    const p = String(t.for.reference).replace('Patient/', '');
    perPatient.set(p, (perPatient.get(p) ?? 0) + 1);
  }
  expect([...perPatient.keys()].sort()).toEqual([...patients].sort());
  expect([...perPatient.values()].every((n) => n === 1)).toBe(true);
  expect(check).toMatchObject({
    patients: patients.size,
    callbacks: tasks.length,
    patientsWithOneCallback: patients.size,
    patientsWithoutCallback: 0,
    patientsWithSeveralCallbacks: 0,
  });
  expect(view.callbacks).toMatchObject({ total: patients.size, done: patients.size });

  // Progress was read over time, up to the end.
  const samples = closure.samples as any[];
  expect(samples.length).toBeGreaterThan(3);
  expect(samples.at(-1)).toMatchObject({ status: 'completed', percent: 100 });
  // The load's own writes landed once too.
  expect(report.writes).toMatchObject({ lost: 0, duplicated: 0, landedOnce: report.writes.accepted });
  const downAt = report.staging.find((a: any) => a.action === 'EHR down').atMs;
  const atDown = [...samples].reverse().find((s) => s.atMs <= downAt);
  console.log(
    `closure drill: ${closure.location}, dry run ${closure.dryRun.appointments} visits; appointments ${check.appointments}, ` +
      `changed once ${check.changedOnce}, already video ${check.alreadyAsWanted}, duplicates ${check.duplicates}, outside scope ${check.outsideScope}, ` +
      `callbacks ${check.callbacks} for ${check.patients} patients; ${samples.length} progress samples, ` +
      `at the EHR going down ${atDown?.percent ?? 0}% (${atDown?.status ?? 'not yet read'}), completed by ` +
      `${(samples.find((s) => s.status === 'completed')?.atMs ?? 0) / 1000}s; load writes ${report.writes.accepted}; ` +
      `calls ${report.calls.total}`,
  );

  // No PHI of the closed site's patients in the report.
  for (const id of patients) {
    const p = (await http('GET', `${gw.fhirBase}/Patient/${id}`)).body;
    for (const text of [JSON.stringify(report), html]) {
      expect(phiFound(text, [p.name[0].family, p.birthDate])).toEqual([]);
    }
  }

  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    const refused = await refuseOtherHosts(page);
    await page.setContent(html, { waitUntil: 'load' });
    await page.locator('h2', { hasText: 'Site closure' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'drill-closure-report');
    expect(await page.locator('.verdict').textContent()).toContain(
      `Site closure: ${changed.length} of ${check.appointments} visits changed once`,
    );
    expect(await page.locator('table.closure-check').textContent()).toContain('Changed exactly once');
    expect(requested).toEqual([]);
    expect(refused).toEqual([]);
  } finally {
    await browser.close();
  }
});
