/**
 * A closure survives the gateway dying halfway. The built gateway runs as a child process on the
 * shared Redis (a unique key prefix; Redis itself is not killed) against the sandbox EHR in a
 * process of its own, so the EHR keeps its state across the gateway's restart. With the EHR slow,
 * the closure is mid-way when the gateway is killed (SIGKILL, by PID); a new gateway on the same
 * Redis and data directory finishes it: every visit changed exactly once, one callback per patient.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AofRedis, FaultRig, OwnedProcess, type SandboxProcess } from '../support/fault-harness';
import { CLI } from '../support/child-gateway';
import { spawn } from 'node:child_process';
import { http } from '../support/http';
import { deletePrefix } from '../support/redis';
import { scopedClient } from '../support/scoped-client';
import {
  closedDays,
  closureLine,
  ehrSnapshot,
  finished,
  judgeClosure,
  patientOf,
  targetedAppointments,
  waitForClosure,
  type ClosureAction,
  type ClosureScope,
} from '../support/site-closure';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180000);

// Typed as any action: switching the case to another action is this one line.
const ACTION = 'convert-to-virtual' as ClosureAction;
/** This suite's ports: the sandbox EHR and the gateway (the same port before and after the kill). */
const SANDBOX_PORT = 18531;
const GATEWAY_PORT = 18532;

let rig: FaultRig;
let sandbox: SandboxProcess;
let sandboxProcess: OwnedProcess;

beforeAll(async () => {
  rig = new FaultRig('closure-restart');
  sandboxProcess = new OwnedProcess(
    'sandbox',
    spawn(process.execPath, [CLI, 'sandbox', '--port', String(SANDBOX_PORT), '--patients', '220'], {
      cwd: rig.workdir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const origin = `http://127.0.0.1:${SANDBOX_PORT}`;
  const admin = `${origin}/sandbox/admin/faults`;
  sandbox = {
    origin,
    fhirBase: `${origin}/sandbox/fhir`,
    process: sandboxProcess,
    async setFaults(mode) {
      const res = await http('POST', admin, { body: mode });
      if (res.status >= 300) throw new Error(`fault switch refused ${JSON.stringify(mode)}: ${res.status}`);
      return res.body;
    },
    async faults() {
      return (await http('GET', admin)).body;
    },
  };
  await waitFor(
    async () => {
      if (!sandboxProcess.running()) throw new Error(`sandbox exited:\n${sandboxProcess.output()}`);
      const res = await http('GET', `${sandbox.fhirBase}/metadata`, { timeoutMs: 2000 }).catch(
        () => undefined,
      );
      return res?.status === 200 ? true : undefined;
    },
    { timeoutMs: 60000, intervalMs: 100, what: 'the sandbox EHR to answer' },
  );
});
afterAll(async () => {
  await rig.close();
  await sandboxProcess.stop();
  await deletePrefix(rig.prefix);
});

it('finishes a closure after the gateway is killed halfway: each visit changed once, one callback per patient', async () => {
  // The shared test Redis (not killed here): AofRedis only names its URL, nothing is started.
  const redisDir = join(rig.workdir, 'shared-redis');
  mkdirSync(redisDir);
  const redis = new AofRedis(6379, redisDir);
  const dataDir = join(rig.workdir, 'data');
  const gatewayOptions = {
    role: 'all' as const,
    redis,
    sandbox,
    port: GATEWAY_PORT,
    dataDir,
    config: { redis: { requireDurability: false } },
  };
  let gateway = await rig.gateway(gatewayOptions);
  const lead = await scopedClient(rig.prefix, 'crisis-lead', ['crisis:admin']);

  const scope: ClosureScope = { locations: ['loc-0002', 'loc-0003'], ...closedDays(0) };
  const before = await ehrSnapshot(sandbox.fhirBase);
  const targets = targetedAppointments(before, scope);
  expect(targets.length).toBeGreaterThanOrEqual(24);
  const patients = new Set(targets.map((a) => patientOf(a)!)).size;

  await sandbox.setFaults({ mode: 'slow', latencyMs: 200 });
  const res = await http('POST', `${gateway.url}/v1/crisis/closures`, {
    headers: lead,
    body: {
      locations: scope.locations,
      from: scope.from,
      to: scope.to,
      action: ACTION,
      ...(ACTION === 'convert-to-virtual' ? { mode: 'video' } : {}),
      reason: 'Storm: the clinic is closed',
      callback: { priority: 'urgent' },
    },
  });
  expect(res.status).toBe(202);
  const id = res.body.id as string;

  // Mid-way: some visits changed, at least a quarter still to do.
  const atKill = await waitForClosure(
    gateway.url,
    id,
    lead,
    (p) => finished(p) || (p.appointments?.done >= 3 && p.appointments?.remaining >= targets.length / 4),
    { what: 'the closure to be mid-way' },
  );
  await gateway.process.signal('SIGKILL');
  expect(atKill.status).toBe('running');
  await sandbox.setFaults({ mode: 'up' });
  const killedAt = Date.now();

  gateway = await rig.gateway(gatewayOptions);
  const progress = await waitForClosure(gateway.url, id, lead, finished, { timeoutMs: 120000 });
  const resumeSeconds = (Date.now() - killedAt) / 1000;
  expect(progress).toMatchObject({
    status: 'completed',
    percent: 100,
    appointments: { total: targets.length, done: targets.length, failed: 0, remaining: 0 },
    callbacks: { total: patients, done: patients, failed: 0, remaining: 0 },
  });

  const after = await ehrSnapshot(sandbox.fhirBase);
  const verdict = await judgeClosure({
    fhirBase: sandbox.fhirBase,
    before,
    after,
    scope,
    action: ACTION,
    priority: 'urgent',
  });
  expect(verdict.problems).toEqual([]);
  expect(verdict).toMatchObject({
    appointments: targets.length,
    changed: targets.length,
    duplicates: 0,
    callbacks: patients,
    outsideScope: 0,
  });
  console.log(
    closureLine(
      'gateway killed halfway',
      verdict,
      `, killed at ${atKill.appointments.done as number}/${targets.length}, completed ${resumeSeconds.toFixed(1)} s after the kill`,
    ),
  );
});
