/**
 * (b) `kill -9` of a worker process in the middle of a backlog drain, then a fresh worker. The API
 * and the worker are separate processes on one AOF Redis; the sandbox EHR is a third process, slow
 * enough (50 ms a request) that the worker has writes in flight when it dies. Writes the dead worker
 * had sent may have been committed by the EHR without being recorded: the new worker must neither
 * lose nor repeat them, nor let a patient's later write overtake them.
 *
 * Recovery of the jobs the dead worker held is BullMQ's stalled-job check: their locks expire within
 * `queue.lockDurationMs` (5 s) of the kill and a check runs every `queue.stalledIntervalMs` (2 s)
 * (one marks a job, the next moves it), so a patient's lane resumes some 5 to 9 s after its worker
 * died. With BullMQ's defaults (30 s and 30 s) it was 30 to 90 s.
 */
import {
  acceptEmailBacklog,
  call,
  drainedReceipts,
  FaultRig,
  pipelineStatus,
  patientId,
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
/** The worker running once the first scenario is done: the victim of the second. */
let survivor: GatewayProcess;

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

  survivor = await rig.gateway({ role: 'worker', redis, sandbox });
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

it('resumes a lane within seconds when the worker sending its write is killed, and sends nothing twice', async () => {
  // An EHR slow enough (1.5 s a request) that the kill lands inside the write.
  await sandbox.setFaults({ mode: 'slow', latencyMs: 1500 });
  const patient = patientId(70);
  const accepted = [];
  for (let k = 0; k < 3; k++) {
    const email = `lane-resume-${k}@example.org`;
    const sentAt = performance.now();
    const res = await call('PATCH', `${api.url}/v1/patients/${patient}`, {
      body: { email },
      headers: { 'idempotency-key': `${rig.prefix}-resume-${k}` },
    });
    expect(res.status).toBe(202);
    accepted.push({
      operationId: res.body.operationId as string,
      patientId: patient,
      email,
      sentAt,
      ackAt: performance.now(),
    });
  }
  const head = accepted[0]!.operationId;
  await waitFor(
    async () =>
      (await call('GET', `${api.url}/v1/operations/${head}`)).body.status === 'sending' ? true : undefined,
    { timeoutMs: 30000, intervalMs: 20, what: 'the lane head to be sending' },
  );
  await survivor.process.signal('SIGKILL');
  const killedAt = Date.now();
  await rig.gateway({ role: 'worker', redis, sandbox });

  const receipts = await drainedReceipts(
    api.url,
    accepted.map((w) => w.operationId),
    120000,
  );
  expect(statusCounts(receipts)).toEqual({ succeeded: 3 });
  // The head's second try: when the lane moved again after the kill.
  const retried = (receipts[0].history as { status: string; at: string; attempt: number }[]).find(
    (event) => event.status === 'sending' && event.attempt === 2,
  );
  expect(retried).toBeDefined();
  const gapMs = Date.parse(retried!.at) - killedAt;
  printResult(`(b2) lane resumed ${gapMs} ms after its worker was killed mid-write`);

  await sandbox.setFaults({ mode: 'up' });
  const audit = await auditEmailWrites(sandbox.fhirBase, accepted);
  printResult(resultLine('(b2) kill -9 of the worker sending a lane head, then a new worker', audit));
  expect(audit).toEqual({ accepted: 3, lost: 0, duplicated: 0, outOfOrder: 0, stale: 0, evidence: [] });
});
