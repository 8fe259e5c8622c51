/**
 * `continuum ops` against a running gateway (the built CLI, as an operator runs it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cleanEnv,
  freePort,
  runCli,
  startChildGateway,
  stopChildren,
  type ChildGateway,
} from '../support/child-gateway';
import { http } from '../support/http';
import { waitFor } from '../support/wait-for';

jest.setTimeout(90000);

let workdir: string;
let gateway: ChildGateway;
beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), 'continuum-ops-'));
  gateway = await startChildGateway({ cwd: workdir, dataDir: join(workdir, 'var'), port: await freePort() });
});
afterAll(async () => {
  await gateway.stop();
  // A CLI run a failed test did not wait out.
  await stopChildren();
  rmSync(workdir, { recursive: true, force: true });
});

async function ops(...args: string[]): Promise<{ code: number | null; output: string }> {
  const run = runCli(['ops', ...args, '--url', gateway.url], { cwd: workdir, env: cleanEnv({}) });
  const code = await run.exited;
  return { code, output: run.output() };
}

it('shows status, lists and shows receipts, and dry-runs a replay', async () => {
  const status = await ops('status');
  expect(status.code).toBe(0);
  expect(status.output).toMatch(/^sandbox: breaker closed; queued \d+, sending \d+, failed \d+/m);

  const accepted = await http('PATCH', `${gateway.url}/v1/patients/pat-0007`, {
    body: { email: 'ops.cli@example.org' },
  });
  const id = accepted.body.operationId as string;
  await waitFor(async () =>
    (await http('GET', `${gateway.url}/v1/operations/${id}`)).body.status === 'succeeded' ? true : undefined,
  );

  const list = await ops('list', '--status', 'succeeded', '--patient', 'pat-0007', '--json');
  expect(list.code).toBe(0);
  expect(JSON.parse(list.output).operations.map((o: { operationId: string }) => o.operationId)).toContain(id);

  const show = await ops('show', id);
  expect(show.output).toContain('"status": "succeeded"');

  const cancel = await ops('cancel', id);
  expect(cancel.code).not.toBe(0);
  expect(cancel.output).toContain('409 CONFLICT');

  // Without a filter nothing is replayed; with one, it only looks unless told --apply.
  const unfiltered = await ops('replay');
  expect(unfiltered.code).not.toBe(0);
  expect(unfiltered.output).toContain('400 VALIDATION');
  const dry = await ops('replay', '--status', 'failed');
  expect(dry.code).toBe(0);
  expect(dry.output).toMatch(/^dry run: \d+ operation\(s\) would be re-sent/m);
});

it('lists event subscribers and refuses to replay one that does not exist', async () => {
  const events = await ops('events');
  expect(events.code).toBe(0);
  expect(events.output).toContain('no event subscribers configured');
  const replay = await ops('events-replay', 'nobody');
  expect(replay.code).not.toBe(0);
  expect(replay.output).toContain('404 NOT_FOUND');
});
