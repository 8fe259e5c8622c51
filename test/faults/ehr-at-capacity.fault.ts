/**
 * (j) The EHR comes back from an outage at the edge of its capacity: it takes a few requests at
 * once, answers 429 to the rest (with and without Retry-After), and in the middle of the drain it
 * slows to a crawl for a while, then hangs. Two worker processes share the adaptive drain limit.
 * Every accepted write still lands once and in order, and the limit is seen cut by the storm.
 */
import {
  acceptEmailBacklog,
  call,
  auditEmailWrites,
  drainedReceipts,
  FaultRig,
  pipelineStatus,
  printResult,
  resultLine,
  statusCounts,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';
import { waitFor } from '../support/wait-for';

const PATIENTS = 40;
const PER_PATIENT = 8;

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let api: GatewayProcess;
const workers: GatewayProcess[] = [];

beforeAll(async () => {
  rig = new FaultRig('ehr-at-capacity');
  redis = await rig.redis();
  sandbox = await rig.sandbox();
  api = await rig.gateway({ role: 'api', redis, sandbox });
  // Two worker processes: the limit and its permits are shared through Redis, not per process.
  for (let i = 0; i < 2; i++) {
    workers.push(
      await rig.gateway({
        role: 'worker',
        redis,
        sandbox,
        config: {
          connections: { sandbox: { drain: { initialLimit: 6, windowMs: 100 } } },
          queue: { concurrency: 24 },
        },
      }),
    );
  }
});
afterAll(async () => {
  await rig.close();
});

it('drains a backlog into an EHR at capacity, through 429 storms, a crawl and a hang, each write once and in order', async () => {
  await sandbox.setFaults({ mode: 'down', kind: 'refuse' });
  const accepted = await acceptEmailBacklog({
    url: api.url,
    tag: 'capacity',
    keyPrefix: rig.prefix,
    patients: PATIENTS,
    perPatient: PER_PATIENT,
    firstPatient: 1,
  });
  expect(accepted).toHaveLength(PATIENTS * PER_PATIENT);

  // Back, but able to serve only 2 requests at once, with room for 1 more in its queue: any more
  // is a 429. The storm comes first without Retry-After, then with it.
  const limitsSeen = new Set<string>();
  const watching = { on: true };
  const watcher = (async () => {
    const deadline = Date.now() + 170000;
    while (watching.on && Date.now() < deadline) {
      const status = await pipelineStatus(api.url).catch(() => undefined);
      const change = status?.drain?.limit?.lastChange as string | undefined;
      if (change !== undefined) limitsSeen.add(change);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  await sandbox.setFaults({ mode: 'capacity', concurrent: 2, latencyMs: 20, queueDepth: 1 });
  const drainedCount = async (): Promise<number> => {
    const status = await pipelineStatus(api.url);
    return accepted.length - (status.queue.queued + status.queue.sending);
  };
  await waitFor(async () => ((await drainedCount()) >= accepted.length / 4 ? true : undefined), {
    timeoutMs: 60000,
    intervalMs: 200,
    what: 'a quarter of the backlog to drain through the 429s',
  });
  await sandbox.setFaults({
    mode: 'capacity',
    concurrent: 2,
    latencyMs: 20,
    queueDepth: 1,
    retryAfterSeconds: 1,
  });
  await waitFor(async () => ((await drainedCount()) >= accepted.length / 2 ? true : undefined), {
    timeoutMs: 60000,
    intervalMs: 200,
    what: 'half of the backlog to drain through 429s with Retry-After',
  });
  // The EHR crawls: every answer takes 20 times longer, for two seconds.
  await sandbox.setFaults({ mode: 'slow', latencyMs: 400, durationMs: 2000 });
  await waitFor(async () => ((await sandbox.faults()).mode.mode === 'up' ? true : undefined), {
    timeoutMs: 20000,
    what: 'the crawl to end',
  });
  // Then it hangs: nothing answers for three seconds, and what was sent then answers 20 s later,
  // past the writes' own deadline. The stalled calls open the breaker; the writes caught in the
  // hang time out without knowing whether they landed, and are read back before any resend.
  const remaining = accepted.length - (await drainedCount());
  await sandbox.setFaults({ mode: 'slow', latencyMs: 20000, durationMs: 3000 });
  await waitFor(async () => ((await sandbox.faults()).mode.mode === 'up' ? true : undefined), {
    timeoutMs: 20000,
    what: 'the hang to end',
  });
  await sandbox.setFaults({ mode: 'capacity', concurrent: 4, latencyMs: 20, queueDepth: 2 });
  expect(remaining).toBeGreaterThan(0);

  const receipts = await drainedReceipts(
    api.url,
    accepted.map((w) => w.operationId),
    150000,
  );
  watching.on = false;
  await watcher;
  expect(statusCounts(receipts)).toEqual({ succeeded: accepted.length });

  const capacity = (await call('GET', `${sandbox.origin}/sandbox/admin/capacity`)).body;
  // The audit reads every patient's history at once: the EHR must not throttle the auditor.
  await sandbox.setFaults({ mode: 'up' });
  const audit = await auditEmailWrites(sandbox.fhirBase, accepted);
  printResult(resultLine('(j) EHR at capacity during recovery', audit));
  printResult(
    `(j) last capacity phase: ${String(capacity.window?.served)} served, ${String(capacity.window?.throttled)} throttled; limit changes seen: ${[...limitsSeen].join(', ')}`,
  );
  // The storm happened, and the shared limit answered it by cutting.
  expect([...limitsSeen].some((c) => c.startsWith('cut-'))).toBe(true);
  expect(audit).toEqual({
    accepted: PATIENTS * PER_PATIENT,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    stale: 0,
    evidence: [],
  });
});
