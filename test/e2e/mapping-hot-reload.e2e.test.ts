/**
 * Profile changes without a restart, against the built gateway as `npm start` runs it, on a
 * mappings folder of its own: an edit saved on disk is picked up by the folder watch, SIGHUP
 * reloads a gateway that does not watch, a broken edit is refused while the running version keeps
 * taking and applying writes, and `continuum mappings diff` shows what a reload changed.
 */
import { cp, readFile, rename, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';
import {
  cleanEnv,
  freePort,
  runCli,
  startChildGateway,
  stopChildren,
  type ChildGateway,
} from '../support/child-gateway';
import { http } from '../support/http';
import { phoneMark, writeMarkedProfile } from '../support/marked-profile';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180000);

interface Workspace {
  readonly dir: string;
  readonly profileDir: string;
  gateway: ChildGateway;
}

/** A working directory whose config points at its own copy of mappings/default. */
async function startOnOwnMappings(options: { watch: boolean }): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'continuum-hot-reload-'));
  const profileDir = join(dir, 'mappings', 'default');
  await cp(join(projectRoot(), 'mappings', 'default'), profileDir, { recursive: true });
  await writeFile(
    join(dir, 'continuum.config.yaml'),
    `mappings:\n  dir: mappings\n  watch: ${String(options.watch)}\n`,
  );
  const gateway = await startChildGateway({ cwd: dir, dataDir: join(dir, 'var'), port: await freePort() });
  return { dir, profileDir, gateway };
}

async function stopWorkspace(ws: Workspace | undefined): Promise<void> {
  if (ws === undefined) return;
  await ws.gateway.stop();
  rmSync(ws.dir, { recursive: true, force: true });
}

async function status(gateway: ChildGateway): Promise<any> {
  const res = await http('GET', `${gateway.url}/v1/status`);
  expect(res.status).toBe(200);
  return res.body.mappings;
}

async function runningHash(gateway: ChildGateway): Promise<string> {
  const mappings = await status(gateway);
  expect(mappings.profiles).toEqual([expect.objectContaining({ name: 'default' })]);
  return mappings.profiles[0].hash as string;
}

/** Polls GET /v1/status until the running hash is no longer `previous`. */
async function hashChangedFrom(gateway: ChildGateway, previous: string): Promise<string> {
  return waitFor(
    async () => {
      const hash = await runningHash(gateway);
      return hash !== previous ? hash : undefined;
    },
    {
      timeoutMs: 60000,
      intervalMs: 250,
      what: `the running profile hash to move from ${previous.slice(0, 12)}`,
    },
  );
}

/** A phone change on a patient, waited out to its final receipt. */
async function writePhone(gateway: ChildGateway, patientId: string, phone: string): Promise<any> {
  const accepted = await http('PATCH', `${gateway.url}/v1/patients/${patientId}`, {
    body: { phones: [phone] },
  });
  expect(accepted.status).toBe(202);
  const id = accepted.body.operationId as string;
  return waitFor(
    async () => {
      const receipt = (await http('GET', `${gateway.url}/v1/operations/${id}`)).body;
      return ['succeeded', 'failed', 'needs-review', 'cancelled'].includes(receipt.status)
        ? receipt
        : undefined;
    },
    { timeoutMs: 60000, intervalMs: 200, what: `write ${id} to finish` },
  );
}

async function ehrPatient(gateway: ChildGateway, patientId: string): Promise<any> {
  const res = await http('GET', `${gateway.url}/sandbox/fhir/Patient/${patientId}`);
  expect(res.status).toBe(200);
  return res.body;
}

afterAll(async () => {
  await stopChildren();
});

describe('a gateway watching its mappings folder', () => {
  let ws: Workspace | undefined;
  const hashes: string[] = [];

  beforeAll(async () => {
    ws = await startOnOwnMappings({ watch: true });
  });
  afterAll(async () => {
    await stopWorkspace(ws);
  });

  it('reloads a profile edited on disk, and new writes apply with the new version', async () => {
    const gateway = ws!.gateway;
    const before = await runningHash(gateway);
    hashes.push(before);

    await writeMarkedProfile(ws!.profileDir, 'edited');
    const after = await hashChangedFrom(gateway, before);
    hashes.push(after);
    const mappings = await status(gateway);
    expect(mappings.lastReload).toMatchObject({ ok: true, trigger: 'file-change', problems: [] });

    const receipt = await writePhone(gateway, 'pat-0011', '+16172530011');
    expect(receipt.status).toBe('succeeded');
    expect(receipt.profile).toEqual({ name: 'default', hash: after });
    expect(phoneMark(await ehrPatient(gateway, 'pat-0011'), '+16172530011')).toBe('edited');
  });

  it('refuses a broken edit and keeps the running version taking and applying writes', async () => {
    const gateway = ws!.gateway;
    const file = join(ws!.profileDir, 'patient.yaml');
    // First a good save the way editors save: a temporary file renamed over the old one (a new
    // inode). The folder watch must keep seeing the file after that, whatever saves it next.
    const before = await runningHash(gateway);
    const yaml = `${await readFile(file, 'utf8')}# reviewed\n`;
    await writeFile(`${file}.swp`, yaml);
    await rename(`${file}.swp`, file);
    const running = await hashChangedFrom(gateway, before);

    // Then a broken save, written in place (as a script or the workbench writes).
    expect(yaml).toContain('  gender: gender\n');
    await writeFile(file, yaml.replace('  gender: gender\n', '  gender: gendr\n'));

    const refused = await waitFor(
      async () => {
        const mappings = await status(gateway);
        const last = mappings.lastReload;
        const named = last?.ok === false && (last.problems as string[]).some((p) => p.includes('gendr'));
        return named ? mappings : undefined;
      },
      { timeoutMs: 60000, intervalMs: 250, what: 'the broken edit to be refused' },
    );
    expect(refused.lastReload.trigger).toBe('file-change');
    const problems = (refused.lastReload.problems as string[]).join('\n');
    const line = (refused.lastReload.problems as string[]).find((p) => p.includes('gendr'));
    expect(line).toContain('patient.yaml');
    // The nearest real element, so the fix is obvious.
    expect(line).toMatch(/gendr[\s\S]*\bgender\b/);
    expect(problems).not.toContain('fixture fails');
    expect(refused.profiles).toEqual([expect.objectContaining({ name: 'default', hash: running })]);
    // The log says why and which version keeps running, by profile name and hash.
    const logged = gateway
      .output()
      .split('\n')
      .find((l) => l.includes('mapping profiles not reloaded') && l.includes('gendr'));
    expect(logged).toContain(`"mappingProfile":"default","mappingHash":"${running}"`);

    const receipt = await writePhone(gateway, 'pat-0012', '+16172530012');
    expect(receipt.status).toBe('succeeded');
    expect(receipt.profile).toEqual({ name: 'default', hash: running });
    // Applied with the running (marked) version, not refused, not the broken one.
    expect(phoneMark(await ehrPatient(gateway, 'pat-0012'), '+16172530012')).toBe('edited');
    expect(await runningHash(gateway)).toBe(running);
  });

  it('shows what a reload changed with `continuum mappings diff`, by full hash or 12-digit prefix', async () => {
    const gateway = ws!.gateway;
    const [from, to] = hashes;
    expect(from).toBeDefined();
    expect(to).toBeDefined();
    const diff = async (...args: string[]): Promise<{ code: number | null; output: string }> => {
      const run = runCli(['mappings', 'diff', ...args, '--url', gateway.url, '--key', gateway.key!], {
        cwd: ws!.dir,
        env: cleanEnv({}),
      });
      return { code: await run.exited, output: run.output() };
    };

    const full = await diff(from!, to!);
    expect(full.code).toBe(0);
    expect(full.output).toContain(`default ${from!.slice(0, 12)}`);
    expect(full.output).toContain('--- a/patient.yaml');
    expect(full.output).toContain('+++ b/patient.yaml');
    expect(full.output).toMatch(/^\+.*profile-mark.*"valueString": "edited"/m);
    expect(full.output).toMatch(/^-\s+: \{ "system": "phone", "value": \$value \}$/m);
    // Not a terminal: no colour codes in what a script reads.
    expect(full.output).not.toContain('\u001b[');
    // Unchanged files are not listed.
    expect(full.output).not.toContain('profile.yaml\n');
    expect(full.output).not.toContain('slot.yaml');

    const short = await diff(from!.slice(0, 12), to!.slice(0, 12));
    expect(short.code).toBe(0);
    expect(short.output).toBe(full.output);

    const unknown = await diff(from!.slice(0, 12), 'f'.repeat(64));
    expect(unknown.code).toBe(1);
    expect(unknown.output).toContain(`no mapping profile version ${'f'.repeat(64)} is stored`);
    expect(unknown.output).not.toMatch(/at \S+\.js:\d+/);

    const usage = await diff(from!);
    expect(usage.code).toBe(2);
    expect(usage.output).toContain('continuum mappings diff HASH_A HASH_B');
  });
});

describe('a gateway that does not watch, told by SIGHUP', () => {
  let ws: Workspace | undefined;

  beforeAll(async () => {
    ws = await startOnOwnMappings({ watch: false });
  });
  afterAll(async () => {
    await stopWorkspace(ws);
  });

  it('keeps the running version after an edit until SIGHUP, then reloads it', async () => {
    const gateway = ws!.gateway;
    const before = await runningHash(gateway);
    await writeMarkedProfile(ws!.profileDir, 'signalled');
    // The edit alone changes nothing here: a write accepted now still runs the old version.
    const unchanged = await writePhone(gateway, 'pat-0013', '+16172530013');
    expect(unchanged.profile).toEqual({ name: 'default', hash: before });
    expect(phoneMark(await ehrPatient(gateway, 'pat-0013'), '+16172530013')).toBeUndefined();

    process.kill(gateway.child.pid!, 'SIGHUP');
    const after = await hashChangedFrom(gateway, before);
    expect((await status(gateway)).lastReload).toMatchObject({ ok: true, trigger: 'signal' });
    const receipt = await writePhone(gateway, 'pat-0014', '+16172530014');
    expect(receipt.status).toBe('succeeded');
    expect(receipt.profile).toEqual({ name: 'default', hash: after });
    expect(phoneMark(await ehrPatient(gateway, 'pat-0014'), '+16172530014')).toBe('signalled');
    // Still running: SIGHUP is a reload, not a stop.
    expect(gateway.child.exitCode).toBeNull();
  });
});
