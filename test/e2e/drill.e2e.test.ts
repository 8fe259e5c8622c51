/**
 * `continuum drill run` as a crisis lead runs it (the built CLI): a 30-second outage drill, its
 * report checked against the EHR's own records, and the HTML report looked at in a browser.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, refuseOtherHosts, screenshot } from '../support/browser';
import { cleanEnv, runCli, stopChildren } from '../support/child-gateway';
import { http } from '../support/http';
import { history } from '../support/pipeline';
import { countKeys, TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';
import { phiFound } from '../support/phi-words';

jest.setTimeout(240_000);

const OPERATION_SYSTEM = 'urn:continuum:operation';

let workdir: string;
beforeAll(() => {
  workdir = mkdtempSync(join(tmpdir(), 'continuum-drill-'));
});
afterAll(async () => {
  await stopChildren();
  rmSync(workdir, { recursive: true, force: true });
});

async function drill(args: string[], env: Record<string, string> = {}) {
  const run = runCli(['drill', 'run', ...args], { cwd: workdir, env: cleanEnv(env) });
  const code = await run.exited;
  return { code, output: run.output() };
}

function reportFiles(dir: string): { json: string; html: string } {
  const names = readdirSync(dir);
  const json = names.find((n) => /^drill-.*\.json$/.test(n));
  const html = names.find((n) => /^drill-.*\.html$/.test(n));
  if (json === undefined || html === undefined) throw new Error(`no report in ${dir}: ${names.join(', ')}`);
  return { json: join(dir, json), html: join(dir, html) };
}

async function total(fhirBase: string, type: string): Promise<number> {
  const res = await http('GET', `${fhirBase}/${type}?_count=1`);
  return res.body.total as number;
}

describe('an outage drill against a staging gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('reports what the EHR itself shows: every accepted write once, none lost, none duplicated', async () => {
    const out = join(workdir, 'staging');
    const before = {
      tasks: await total(gw.fhirBase, 'Task'),
      appointments: await total(gw.fhirBase, 'Appointment'),
    };

    // A 5-minute timeline run ten times faster: 6 s baseline, 12 s with the EHR down, 12 s recovery.
    const run = await drill([
      '--scenario',
      'outage',
      '--duration',
      '5m',
      '--compress',
      '10',
      '--url',
      gw.url,
      '--key',
      gw.key,
      '--rate',
      '8',
      '--out',
      out,
    ]);
    expect(run.output).toMatch(/lost 0, duplicated 0/);
    expect(run.code).toBe(0);
    const files = reportFiles(out);
    const report = JSON.parse(readFileSync(files.json, 'utf8'));

    // The timeline as the scenario says, compressed.
    expect(report.phases.map((p: any) => [p.name, p.startMs, p.endMs, p.staged])).toEqual([
      ['baseline', 0, 6000, true],
      ['ehr-down', 6000, 18000, true],
      ['recovery', 18000, 30000, true],
    ]);
    expect(report.staging.map((a: any) => [a.action, a.status])).toEqual([
      ['EHR down', 200],
      ['EHR up', 200],
    ]);

    // Every call is in the JSON, and every accepted write came from one of them.
    expect(report.calls.records.length).toBe(report.calls.total);
    const callOps = new Set(report.calls.records.map((r: any) => r.operationId).filter(Boolean));

    // Every accepted write, checked here against the EHR, not taken from the report.
    const outcomes = report.writeOutcomes as { operationId: string; resource: string }[];
    expect(outcomes.length).toBe(report.writes.accepted);
    expect(outcomes.length).toBeGreaterThan(10);
    expect(outcomes.every((o) => callOps.has(o.operationId))).toBe(true);
    let inEhrOnce = 0;
    for (const { operationId, resource } of outcomes) {
      const receipt = (await http('GET', `${gw.url}/v1/operations/${operationId}`)).body;
      expect(receipt.status).toBe('succeeded');
      if (resource === 'Patient') {
        const ref = receipt.resourceRef as string;
        const versions = await history(gw.fhirBase, ref);
        // The correction is one version change, however many attempts the outage cost.
        const changes = versions.filter((v, i) => {
          const email = (v.telecom ?? []).find((t: any) => t.system === 'email')?.value;
          const prev = (versions[i - 1]?.telecom ?? []).find((t: any) => t.system === 'email')?.value;
          return email !== undefined && email !== prev && String(email).startsWith('drill-');
        });
        if (changes.length === 1) inEhrOnce++;
      } else {
        const found = await http(
          'GET',
          `${gw.fhirBase}/${resource}?identifier=${encodeURIComponent(`${OPERATION_SYSTEM}|${operationId}`)}`,
        );
        if ((found.body.entry ?? []).length === 1) inEhrOnce++;
      }
    }
    expect(inEhrOnce).toBe(report.writes.accepted);
    expect(report.writes).toMatchObject({ lost: 0, duplicated: 0, landedOnce: report.writes.accepted });
    // Nothing landed beyond what was accepted: the EHR grew by exactly the drill's creates.
    const created = (kind: string) => outcomes.filter((o) => o.resource === kind).length;
    expect(await total(gw.fhirBase, 'Task')).toBe(before.tasks + created('Task'));
    expect(await total(gw.fhirBase, 'Appointment')).toBe(before.appointments + created('Appointment'));

    // The outage is in the figures: reads from the cache while the EHR was down, a backlog that
    // rose during it and drained after.
    const [baseline, down, recovery] = report.calls.byPhase;
    expect(down.cacheShare).toBeGreaterThan(baseline.cacheShare ?? 0);
    expect(down.writesAccepted).toBeGreaterThan(0);
    const downSamples = report.backlog.samples.filter((s: any) => s.atMs >= 6000 && s.atMs <= 18500);
    expect(Math.max(...downSamples.map((s: any) => s.backlog))).toBeGreaterThan(0);
    expect(report.backlog.drained).toBe(true);
    expect(report.backlog.samples.at(-1).backlog).toBe(0);
    console.log(
      `drill figures: calls ${report.calls.total}; per phase calls/served/errors/p50/p99/cache ` +
        report.calls.byPhase
          .map(
            (p: any) => `${p.phase} ${p.calls}/${p.served}/${p.errors}/${p.p50Ms}/${p.p99Ms}/${p.cacheShare}`,
          )
          .join('; ') +
        `; writes ${report.writes.accepted} (in EHR once ${inEhrOnce}); backlog peak ${report.backlog.peak}, ` +
        `drained ${report.backlog.timeToDrainMs} ms after recovery; recovery p99 ${recovery.p99Ms} ms`,
    );

    // No PHI: no seed patient's name, phone or birth date anywhere in the report.
    const patients = (await http('GET', `${gw.fhirBase}/Patient?_count=20`)).body.entry.map(
      (e: any) => e.resource,
    );
    const json = readFileSync(files.json, 'utf8');
    const html = readFileSync(files.html, 'utf8');
    for (const p of patients) {
      for (const text of [json, html]) {
        const values = [p.name[0].family, p.birthDate, ...(p.telecom ?? []).map((t: any) => t.value)];
        expect(phiFound(text, values)).toEqual([]);
      }
    }

    // The page is a picture with nothing to fetch.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
      const requested: string[] = [];
      page.on('request', (r) => requested.push(r.url()));
      const refused = await refuseOtherHosts(page);
      await page.setContent(html, { waitUntil: 'load' });
      await screenshot(page, 'drill-report');
      expect(await page.locator('h1').textContent()).toBe('Drill: outage');
      expect(await page.locator('.verdict').textContent()).toContain('lost 0, duplicated 0');
      expect(await page.locator('svg').count()).toBeGreaterThanOrEqual(5);
      expect(await page.getByText('EHR down').count()).toBeGreaterThan(0);
      expect(requested).toEqual([]);
      expect(refused).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('ends the outage it staged when it is stopped by a signal in the middle of it', async () => {
    const run = runCli(
      [
        'drill',
        'run',
        '--scenario',
        'outage',
        '--duration',
        '5m',
        '--compress',
        '5',
        '--url',
        gw.url,
        '--key',
        gw.key,
      ],
      { cwd: workdir, env: cleanEnv({}) },
    );
    await waitFor(() => Promise.resolve(/phase ehr-down/.test(run.output()) ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the drill to take the EHR down',
    });
    const down = await http('GET', `${gw.url}/sandbox/admin/faults`);
    expect(down.body).toMatchObject({ mode: { mode: 'down' } });

    const pid = run.child.pid;
    if (pid === undefined) throw new Error('the drill has no pid');
    process.kill(pid, 'SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.output()).toMatch(/SIGINT: ending what the drill staged/);
    // The staging EHR answers again: the drill did not leave it down.
    const after = await http('GET', `${gw.url}/sandbox/admin/faults`);
    expect(after.body).toMatchObject({ mode: { mode: 'up' } });
  });
});

it('starts its own gateway without --url, hears the events of its writes, and removes what it made', async () => {
  const out = join(workdir, 'in-process');
  const drillKeysBefore = await countKeys('drill-*');
  const run = await drill(['--scenario', 'outage', '--duration', '12s', '--rate', '6', '--out', out], {
    REDIS_URL: TEST_REDIS_URL,
  });
  expect(run.output).toMatch(/starting a gateway on its embedded defaults/);
  expect(run.code).toBe(0);
  const report = JSON.parse(readFileSync(reportFiles(out).json, 'utf8'));
  expect(report.drill.target).toMatch(/in-process/);
  expect(report.writes).toMatchObject({ lost: 0, duplicated: 0 });
  expect(report.writes.landedOnce).toBe(report.writes.accepted);
  expect(report.events.deliveredOperationEvents).toBe(report.events.expectedOperationEvents);
  expect(report.events.byType['ehr.unavailable']).toBeGreaterThanOrEqual(1);
  expect(report.events.badSignatures).toBe(0);
  // Its gateway kept its keys under a prefix of its own on the shared Redis, and took them away.
  expect(await countKeys('drill-*')).toBe(drillKeysBefore);
  console.log(
    `in-process drill: ${report.calls.total} calls, ${report.writes.accepted} writes, events ${JSON.stringify(report.events.byType)}`,
  );
});

it('prints the usage, not a stack trace, for an unknown option', async () => {
  const run = await drill(['--scenario', 'outage', '--tempo', 'fast']);
  expect(run.code).toBe(2);
  expect(run.output).toContain('Usage:');
  expect(run.output).toContain('--tempo');
  expect(run.output).not.toMatch(/^\s+at /m);
  expect(existsSync(join(workdir, 'drill-'))).toBe(false);
});
