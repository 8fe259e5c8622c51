/**
 * (g) Not in the brief's list: Redis slow for a while under the worker (a long fsync, a saturated
 * network). Each command the worker sends takes longer than the enqueue deadline, so waking a
 * lane's next write "times out" although the job does land; then Redis is quick again. Every
 * accepted write must still be applied once and in order: a finished write stays finished and the
 * lane sweeper wakes the next one.
 */
import {
  acceptEmailBacklog,
  drainedReceipts,
  FaultRig,
  pipelineStatus,
  printResult,
  resultLine,
  statusCounts,
  waitUntil,
  auditEmailWrites,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';

const PATIENTS = 10;
const WRITES_PER_PATIENT = 5;
const TOTAL = PATIENTS * WRITES_PER_PATIENT;

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let api: GatewayProcess;

beforeAll(async () => {
  rig = new FaultRig('slow-redis');
  redis = await rig.redis();
  sandbox = await rig.sandbox();
  api = await rig.gateway({ role: 'api', redis, sandbox });
});
afterAll(async () => {
  await rig.close();
});

it('applies every write once and in order when Redis is slower than the enqueue deadline', async () => {
  const accepted = await acceptEmailBacklog({
    url: api.url,
    tag: 'slowredis',
    keyPrefix: rig.prefix,
    patients: PATIENTS,
    perPatient: WRITES_PER_PATIENT,
    firstPatient: 20,
  });
  expect((await pipelineStatus(api.url)).queue.queued).toBe(TOTAL);

  // 150 ms a command against a 100 ms enqueue deadline, until a few writes have hit the deadline.
  const proxy = await rig.latencyProxy(redis, 150);
  const worker = await rig.gateway({
    role: 'worker',
    redis,
    sandbox,
    redisUrl: proxy.url,
    config: { queue: { enqueueTimeoutMs: 100 } },
  });
  await waitUntil(() => (worker.process.output().match(/could not wake the next write/g) ?? []).length >= 5, {
    timeoutMs: 60000,
    what: 'writes to hit the enqueue deadline',
  });
  proxy.setLatency(0);
  const receipts = await drainedReceipts(
    api.url,
    accepted.map((w) => w.operationId),
    120000,
  );
  const audit = await auditEmailWrites(sandbox.fhirBase, accepted);
  printResult(resultLine('(g) Redis slower than the enqueue deadline', audit));
  expect(statusCounts(receipts)).toEqual({ succeeded: TOTAL });
  expect(audit).toEqual({ accepted: TOTAL, lost: 0, duplicated: 0, outOfOrder: 0, stale: 0, evidence: [] });
});
