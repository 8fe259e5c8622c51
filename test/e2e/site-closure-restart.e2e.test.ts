/**
 * A closure survives the gateway dying halfway. The built gateway runs as a child process on the
 * shared Redis (a unique key prefix; Redis itself is not killed) against the sandbox EHR in a
 * process of its own, so the EHR keeps its state across the gateway's restart. With the EHR slow,
 * the closure is mid-way when the gateway is killed (SIGKILL, by PID); a new gateway on the same
 * Redis and data directory finishes it: every visit changed exactly once, one callback per patient.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  AofRedis,
  FaultRig,
  OwnedProcess,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';
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

/** One gateway at a time on the shared Redis, the same data directory and port before and after a kill. */
let gateway: GatewayProcess | undefined;
let gatewayOptions: Parameters<FaultRig['gateway']>[0] | undefined;
let lead: Record<string, string> | undefined;

async function runningGateway(): Promise<GatewayProcess> {
  if (gateway?.process.running()) return gateway;
  if (gatewayOptions === undefined) {
    // The shared test Redis (not killed here): AofRedis only names its URL, nothing is started.
    const redisDir = join(rig.workdir, 'shared-redis');
    mkdirSync(redisDir);
    gatewayOptions = {
      role: 'all',
      redis: new AofRedis(6379, redisDir),
      sandbox,
      port: GATEWAY_PORT,
      dataDir: join(rig.workdir, 'data'),
      config: { redis: { requireDurability: false } },
    };
  }
  gateway = await rig.gateway(gatewayOptions);
  lead ??= await scopedClient(rig.prefix, 'crisis-lead', ['crisis:admin']);
  return gateway;
}

/**
 * Submits a closure of `scope` to a slow EHR, kills the gateway (SIGKILL, by PID) once `killWhen`
 * says so, starts a new one on the same Redis and data, and judges the finished closure in the EHR.
 */
async function closeAndKill(
  name: string,
  scope: ClosureScope,
  killWhen: (progress: any, targets: number) => boolean,
): Promise<void> {
  let current = await runningGateway();
  const headers = lead ?? {};
  const before = await ehrSnapshot(sandbox.fhirBase);
  const targets = targetedAppointments(before, scope);
  expect(targets.length).toBeGreaterThanOrEqual(24);
  const patients = new Set(targets.map((a) => patientOf(a)!)).size;

  await sandbox.setFaults({ mode: 'slow', latencyMs: 200 });
  const res = await http('POST', `${current.url}/v1/crisis/closures`, {
    headers,
    body: {
      locations: scope.locations,
      from: scope.from,
      to: scope.to,
      action: ACTION,
      ...(ACTION === 'convert-to-virtual' ? { mode: 'video' } : {}),
      reason: 'weather',
      callback: { priority: 'urgent' },
    },
  });
  expect(res.status).toBe(202);
  const id = res.body.id as string;

  const atKill = await waitForClosure(
    current.url,
    id,
    headers,
    (p) => finished(p) || killWhen(p, targets.length),
    {
      what: `the closure to reach the kill point (${name})`,
    },
  );
  await current.process.signal('SIGKILL');
  expect(finished(atKill)).toBe(false);
  await sandbox.setFaults({ mode: 'up' });
  const killedAt = Date.now();

  current = await runningGateway();
  const progress = await waitForClosure(current.url, id, headers, finished, { timeoutMs: 120000 });
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
      name,
      verdict,
      `, killed while ${String(atKill.status)} at ${String(atKill.appointments?.done)}/${targets.length} done, completed ${resumeSeconds.toFixed(1)} s after the kill`,
    ),
  );
}

it('finishes a closure after the gateway is killed halfway through its writes: each visit changed once, one callback per patient', async () => {
  await closeAndKill(
    'gateway killed halfway',
    { locations: ['loc-0002', 'loc-0003'], ...closedDays(0) },
    (p, total) => p.appointments?.done >= total / 4 && p.appointments?.remaining >= total / 4,
  );
});

it('finishes a closure after the gateway is killed right after accepting it, before its writes are queued', async () => {
  await closeAndKill(
    'gateway killed at acceptance',
    { locations: ['loc-0001', 'loc-0004'], ...closedDays(1) },
    () => true,
  );
});
