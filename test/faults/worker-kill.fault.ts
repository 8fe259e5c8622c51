/**
 * (b) `kill -9` of a worker process in the middle of a backlog drain, then a fresh worker. The API
 * and the worker are separate processes on one AOF Redis; the sandbox EHR is a third process, slow
 * enough (50 ms a request) that the worker has writes in flight when it dies. Writes the dead worker
 * had sent may have been committed by the EHR without being recorded: the new worker must neither
 * lose nor repeat them, nor let a patient's later write overtake them.
 *
 * Recovery of the jobs the dead worker held is BullMQ's stalled-job check: their locks expire after
 * `lockDuration` (30 s) and a check runs every `stalledInterval` (30 s), so this scenario takes
 * 30 to 60 s after the kill. Both are fixed in queue/write.worker.ts (BullMQ defaults), not config.
 */
import {
  acceptEmailBacklog,
  drainedReceipts,
  FaultRig,
  pipelineStatus,
  printResult,
  resultLine,
  statusCounts,
  auditEmailWrites,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';
import { waitFor } from '../support/wait-for';

const PATIENTS = 40;
const WRITES_PER_PATIENT = 10;
const TOTAL = PATIENTS * WRITES_PER_PATIENT;

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let api: GatewayProcess;

beforeAll(async () => {
  rig = new FaultRig('worker-kill');
  redis = await rig.redis();
  sandbox = await rig.sandbox();
  api = await rig.gateway({ role: 'api', redis, sandbox });
});
afterAll(async () => {
  await rig.close();
});

it('loses, repeats and reorders nothing when a worker is killed mid-drain and a new one takes over', async () => {
  // The backlog: 40 patients, 10 writes each, accepted by the API while no worker runs.
  const accepted = await acceptEmailBacklog({
    url: api.url,
    tag: 'kill',
    keyPrefix: rig.prefix,
    patients: PATIENTS,
    perPatient: WRITES_PER_PATIENT,
    firstPatient: 10,
  });
  expect((await pipelineStatus(api.url)).queue.queued).toBe(TOTAL);

  await sandbox.setFaults({ mode: 'slow', latencyMs: 50 });
  const first = await rig.gateway({ role: 'worker', redis, sandbox });
  // Mid-drain: at least a quarter done, at least a quarter left, and writes in flight.
  const atKill = await waitFor(
    async () => {
      const s = await pipelineStatus(api.url);
      const pending = s.queue.queued + s.queue.sending;
      return pending <= TOTAL * 0.75 && pending >= TOTAL * 0.25 && s.queue.sending > 0 ? s : undefined;
    },
    { timeoutMs: 60000, intervalMs: 20, what: 'the worker to be mid-drain' },
  );
  await first.process.signal('SIGKILL');
  const client = rig.redisClient(redis);
  const activeAtKill = await client.llen(`{${rig.prefix}}:writes-sandbox:active`);
  expect(atKill.queue.sending).toBeGreaterThan(0);
  expect(activeAtKill).toBeGreaterThan(0);

  await rig.gateway({ role: 'worker', redis, sandbox });
  const receipts = await drainedReceipts(
    api.url,
    accepted.map((w) => w.operationId),
    150000,
  );
  expect(statusCounts(receipts)).toEqual({ succeeded: TOTAL });
  // The jobs the dead worker held were re-run: some writes took a second attempt.
  expect(receipts.filter((r) => r.attempts > 1).length).toBeGreaterThan(0);

  await sandbox.setFaults({ mode: 'up' });
  const audit = await auditEmailWrites(sandbox.fhirBase, accepted);
  printResult(resultLine('(b) kill -9 of a worker mid-drain, then a new worker', audit));
  expect(audit).toEqual({ accepted: TOTAL, lost: 0, duplicated: 0, outOfOrder: 0, stale: 0, evidence: [] });
});
