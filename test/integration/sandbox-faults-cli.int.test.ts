/**
 * `continuum sandbox --faults <spec>` with the built CLI (`npm run build` first; `npm test` does it): the
 * sandbox starts in the given mode, the admin API changes it, and a bad spec stops the command with exit 2.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cleanEnv, freePort, runCli, stopChildren } from '../support/child-gateway';
import { http } from '../support/http';
import { waitFor } from '../support/wait-for';

jest.setTimeout(60000);

let workdir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  workdir = mkdtempSync(join(tmpdir(), 'continuum-sandbox-faults-'));
});
afterAll(() => {
  rmSync(workdir, { recursive: true, force: true });
});
// A sandbox that should have refused to start, or a test that failed before its own stop.
afterEach(stopChildren);

it('starts in the mode --faults gives, and the admin API brings it back up', async () => {
  const port = await freePort();
  const run = runCli(['sandbox', '--port', String(port), '--patients', '20', '--faults', 'down:http503:15'], {
    cwd: workdir,
    env: cleanEnv({}),
  });
  const origin = `http://127.0.0.1:${String(port)}`;
  try {
    const state = await waitFor(
      async () => {
        if (run.child.exitCode !== null) throw new Error(`sandbox exited early:\n${run.output()}`);
        const answer = await http('GET', `${origin}/sandbox/admin/faults`).catch(() => undefined);
        return answer?.status === 200 ? answer.body : undefined;
      },
      { timeoutMs: 30000, intervalMs: 100, what: 'the sandbox to listen' },
    );
    expect(state.mode).toEqual({ mode: 'down', kind: 'http503', retryAfterSeconds: 15 });
    expect(run.output()).toContain('Fault mode: {"mode":"down","kind":"http503","retryAfterSeconds":15}');

    const metadata = await http('GET', `${origin}/sandbox/fhir/metadata`);
    expect(metadata.status).toBe(503);
    expect(metadata.headers.get('retry-after')).toBe('15');
    expect(metadata.body.issue[0].code).toBe('transient');

    expect((await http('DELETE', `${origin}/sandbox/admin/faults`)).status).toBe(200);
    expect((await http('GET', `${origin}/sandbox/fhir/metadata`)).status).toBe(200);
  } finally {
    expect(await run.stop()).toBe(0);
  }
});

it('starts at capacity with the short form, and counts what it serves', async () => {
  const port = await freePort();
  const run = runCli(
    ['sandbox', '--port', String(port), '--patients', '20', '--faults', 'capacity:2:10:0:1'],
    {
      cwd: workdir,
      env: cleanEnv({}),
    },
  );
  const origin = `http://127.0.0.1:${String(port)}`;
  try {
    const state = await waitFor(
      async () => {
        if (run.child.exitCode !== null) throw new Error(`sandbox exited early:\n${run.output()}`);
        const answer = await http('GET', `${origin}/sandbox/admin/capacity`).catch(() => undefined);
        return answer?.status === 200 ? answer.body : undefined;
      },
      { timeoutMs: 30000, intervalMs: 100, what: 'the sandbox to listen' },
    );
    expect(state).toMatchObject({
      active: true,
      mode: { mode: 'capacity', concurrent: 2, latencyMs: 10, queueDepth: 0, retryAfterSeconds: 1 },
      window: { arrived: 0 },
    });
    expect(run.output()).toContain(`Capacity figures: ${origin}/sandbox/admin/capacity`);
    expect((await http('GET', `${origin}/sandbox/fhir/metadata`)).status).toBe(200);
    const after = await http('GET', `${origin}/sandbox/admin/capacity`);
    expect(after.body.window).toMatchObject({ arrived: 1, served: 1, pending: 0 });
    expect(after.body.window.latencyMs.min).toBeGreaterThanOrEqual(10);
  } finally {
    expect(await run.stop()).toBe(0);
  }
});

it('refuses a bad spec with exit code 2 and says why', async () => {
  const run = runCli(['sandbox', '--port', '0', '--faults', 'flaky:1.5'], {
    cwd: workdir,
    env: cleanEnv({}),
  });
  expect(await run.exited).toBe(2);
  expect(run.output()).toMatch(/--faults: invalid fault spec "flaky:1.5": failureRate: Too big/);
});

it('refuses to listen beyond loopback without a token', async () => {
  const run = runCli(['sandbox', '--port', '0', '--host', '0.0.0.0'], { cwd: workdir, env: cleanEnv({}) });
  expect(await run.exited).toBe(2);
  expect(run.output()).toContain('--token (16 characters or more) is required');
});
