/**
 * (c) Redis killed with SIGKILL in the middle of a stream of writes, and restarted on the same port
 * and directory (AOF `everysec`). Writes sent while it is down are refused with 503
 * QUEUE_UNAVAILABLE, and one in flight when it died is answered 503 WRITE_OUTCOME_UNKNOWN; clients
 * retry both with the same Idempotency-Key until accepted, as real clients do. Every write that got a 202 must be applied exactly once and in order.
 */
import {
  call,
  drainedReceipts,
  FaultRig,
  patientId,
  printResult,
  resultLine,
  statusCounts,
  submitUntilAccepted,
  waitUntil,
  auditEmailWrites,
  type AcceptedEmailWrite,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';

const CLIENTS = 20;
const PATIENTS = 10;
const WRITES_PER_CLIENT = 15;
const TOTAL = CLIENTS * WRITES_PER_CLIENT;

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let gateway: GatewayProcess;

beforeAll(async () => {
  rig = new FaultRig('redis-kill');
  redis = await rig.redis();
  sandbox = await rig.sandbox();
  gateway = await rig.gateway({ role: 'all', redis, sandbox, config: { queue: { enqueueTimeoutMs: 1000 } } });
});
afterAll(async () => {
  await rig.close();
});

it('applies every write that got a 202 exactly once and in order across a kill -9 and restart of Redis', async () => {
  // A little EHR latency keeps the worker mid-write when Redis dies.
  await sandbox.setFaults({ mode: 'slow', latencyMs: 20 });
  const accepted: AcceptedEmailWrite[] = [];
  const refusals: string[] = [];
  let retried = 0;

  const clients = Promise.all(
    Array.from({ length: CLIENTS }, async (_v, c) => {
      const id = patientId(60 + (c % PATIENTS));
      for (let k = 0; k < WRITES_PER_CLIENT; k++) {
        const email = `redis-${c}-${k}@example.org`;
        const key = `${rig.prefix}-${c}-${k}`;
        const sentAt = performance.now();
        const { answer, tries } = await submitUntilAccepted(
          () =>
            call('PATCH', `${gateway.url}/v1/patients/${id}`, {
              body: { email },
              headers: { 'idempotency-key': key },
              timeoutMs: 10000,
            }),
          {
            deadlineMs: 90000,
            onRefused: (status, code) => refusals.push(`${status} ${code ?? ''}`),
          },
        );
        if (tries > 1) retried++;
        expect(answer.status).toBe(202);
        accepted.push({
          operationId: answer.body.operationId,
          patientId: id,
          email,
          sentAt,
          ackAt: performance.now(),
        });
        await new Promise((r) => setTimeout(r, 30 + Math.random() * 70));
      }
    }),
  );

  // A third of the way in, Redis dies; it comes back once clients have felt the outage.
  await waitUntil(() => accepted.length >= TOTAL / 3, {
    timeoutMs: 60000,
    what: 'a third of the writes to be accepted',
  });
  await redis.crash();
  await waitUntil(() => refusals.length >= 10, {
    timeoutMs: 30000,
    what: 'clients to be refused while Redis is down',
  });
  const acceptedBeforeRestart = accepted.length;
  await redis.start();
  await clients;

  expect(accepted.length).toBe(TOTAL);
  expect(acceptedBeforeRestart).toBeLessThan(TOTAL);
  expect(retried).toBeGreaterThan(0);
  // Refused writes were told to come back (503, refused or outcome unknown), never a 500 or a hang.
  expect(refusals).toContain('503 QUEUE_UNAVAILABLE');
  expect(
    [...new Set(refusals)].filter((r) => r !== '503 QUEUE_UNAVAILABLE' && r !== '503 WRITE_OUTCOME_UNKNOWN'),
  ).toEqual([]);

  const receipts = await drainedReceipts(
    gateway.url,
    accepted.map((w) => w.operationId),
    120000,
  );
  expect(statusCounts(receipts)).toEqual({ succeeded: TOTAL });

  await sandbox.setFaults({ mode: 'up' });
  const audit = await auditEmailWrites(sandbox.fhirBase, accepted);
  printResult(resultLine('(c) Redis kill -9 mid-stream, restarted on its AOF', audit));
  expect(audit).toEqual({ accepted: TOTAL, lost: 0, duplicated: 0, outOfOrder: 0, stale: 0, evidence: [] });
});
