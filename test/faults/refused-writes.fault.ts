/**
 * (h) A refused write never lands. Two API processes and two worker processes share one AOF Redis;
 * agents correct the phone numbers of twenty patients, several writes each, one after another per
 * patient and through either API process. Redis is killed with SIGKILL mid-stream and restarted on
 * its AOF. An agent told `503 QUEUE_UNAVAILABLE` moves on to the next correction, as the answer
 * says nothing was taken: that write must never reach the EHR, above all not after a newer write
 * of the same patient. An agent told `503 WRITE_OUTCOME_UNKNOWN` (the insert was in flight when
 * Redis died) does what that answer asks: sends the same request with the same Idempotency-Key
 * until it is accepted, and must then get the operation that was stored, if one was. Every write
 * that got a 202 must land exactly once and in order.
 */
import {
  call,
  drainedReceipts,
  FaultRig,
  patientHistories,
  patientId,
  printResult,
  statusCounts,
  submitUntilAccepted,
  waitUntil,
  type Answer,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';
import {
  auditHistories,
  refusedWritesApplied,
  type AuditedWrite,
  type RefusedWrite,
} from '../support/history-audit';

const PATIENTS = 20;
const WRITES_PER_PATIENT = 8;
const TOTAL = PATIENTS * WRITES_PER_PATIENT;
const GATEWAY_CONFIG = { queue: { enqueueTimeoutMs: 1000 } };

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let apis: GatewayProcess[];

beforeAll(async () => {
  rig = new FaultRig('refused-writes');
  redis = await rig.redis();
  sandbox = await rig.sandbox();
  apis = [];
  for (let i = 0; i < 2; i++)
    apis.push(await rig.gateway({ role: 'api', redis, sandbox, config: GATEWAY_CONFIG }));
  for (let i = 0; i < 2; i++) await rig.gateway({ role: 'worker', redis, sandbox, config: GATEWAY_CONFIG });
});
afterAll(async () => {
  await rig.close();
});

/** The patient's current phone numbers as digits, the way a correction is recognised in a version. */
function phonesOf(patient: any): string | undefined {
  const current = ((patient.telecom ?? []) as any[]).filter(
    (t) => t.system === 'phone' && t.period?.end === undefined,
  );
  if (current.length === 0) return undefined;
  return current
    .map((t) =>
      String(t.value)
        .replace(/\D/g, '')
        .replace(/^1(\d{10})$/, '$1'),
    )
    .join(',');
}

it('never applies a write answered 503, and applies every 202 once and in order, across a Redis kill -9', async () => {
  // A little EHR latency keeps the workers mid-write when Redis dies.
  await sandbox.setFaults({ mode: 'slow', latencyMs: 20 });
  const accepted: AuditedWrite[] = [];
  const refused: RefusedWrite[] = [];
  const otherAnswers: string[] = [];
  /** Writes first answered "outcome unknown": the operation id that answer named, and the one accepted. */
  const uncertain: { readonly named: string; readonly accepted: string }[] = [];

  const agents = Promise.all(
    Array.from({ length: PATIENTS }, async (_v, p) => {
      const id = patientId(80 + p);
      for (let k = 0; k < WRITES_PER_PATIENT; k++) {
        // Unique per patient, so each version of the record names the write that made it.
        const digits = `61755501${String(10 + k)}`;
        const api = apis[k % apis.length]!;
        const sentAt = performance.now();
        const send = (): Promise<Answer> =>
          call('PATCH', `${api.url}/v1/patients/${id}`, {
            body: { phones: [`+1 ${digits}`] },
            headers: { 'idempotency-key': `${rig.prefix}-${p}-${k}` },
            timeoutMs: 10000,
          });
        let answer: Answer = await send().catch((error: unknown): Answer => ({
          status: 0,
          headers: new Headers(),
          body: { code: String(error) },
        }));
        if (answer.status === 503 && answer.body?.code === 'WRITE_OUTCOME_UNKNOWN') {
          const named = answer.body.operationId as string;
          answer = (await submitUntilAccepted(send, { deadlineMs: 60000 })).answer;
          uncertain.push({ named, accepted: answer.body.operationId as string });
          // The stored write may be applied by the time the retry comes: its receipt then answers
          // 200 (final), which is as much an acceptance as the 202 it would have got before.
          if (answer.status === 200 && answer.body.replayed === true) answer = { ...answer, status: 202 };
        }
        if (answer.status === 202) {
          accepted.push({
            operationId: answer.body.operationId as string,
            patientId: id,
            value: digits,
            sentAt,
            ackAt: performance.now(),
          });
        } else if (answer.status === 503 && answer.body?.code === 'QUEUE_UNAVAILABLE') {
          refused.push({ patientId: id, value: digits });
        } else {
          otherAnswers.push(`${answer.status} ${String(answer.body?.code)}`);
        }
        // Agent think time between corrections, not synchronisation.
        await new Promise((r) => setTimeout(r, 30 + Math.random() * 70));
      }
    }),
  );

  // A quarter of the way in, Redis dies; it comes back once agents have been refused for a while.
  await waitUntil(() => accepted.length >= TOTAL / 4, {
    timeoutMs: 60000,
    what: 'a quarter of the writes to be accepted',
  });
  await redis.crash();
  await waitUntil(() => refused.length >= 15, {
    timeoutMs: 30000,
    what: 'agents to be refused while Redis is down',
  });
  await redis.start();
  await agents;

  // Every answer was a 202 or a clear refusal, never a 500 or a hang; both happened.
  expect(otherAnswers).toEqual([]);
  expect(accepted.length + refused.length).toBe(TOTAL);
  expect(refused.length).toBeGreaterThan(0);

  const receipts = await drainedReceipts(
    apis[0]!.url,
    accepted.map((w) => w.operationId),
    120000,
  );
  expect(statusCounts(receipts)).toEqual({ succeeded: accepted.length });

  // A write answered "outcome unknown" that had been stored is the one its retry got, not a second.
  const splitUncertain: string[] = [];
  for (const u of uncertain) {
    const named = await call('GET', `${apis[0]!.url}/v1/operations/${u.named}`);
    if (named.status === 200 && u.accepted !== u.named) {
      splitUncertain.push(`${u.named} was stored, and its retry was accepted as ${u.accepted}`);
    }
  }
  expect(splitUncertain).toEqual([]);

  await sandbox.setFaults({ mode: 'up' });
  const histories = await patientHistories(
    sandbox.fhirBase,
    Array.from({ length: PATIENTS }, (_v, p) => patientId(80 + p)),
    phonesOf,
  );
  const audit = auditHistories(histories, accepted);
  const leaked = refusedWritesApplied(histories, refused);
  const counts = `refused writes applied ${leaked.applied}, lost ${audit.lost}, duplicated ${audit.duplicated}, out-of-order ${audit.outOfOrder}`;
  printResult(
    `(h) two API processes, Redis kill -9 mid-stream (accepted ${accepted.length}, refused ${refused.length}, outcome unknown then retried ${uncertain.length}): ${counts}`,
  );
  expect({ counts, stale: audit.stale, evidence: [...leaked.evidence, ...audit.evidence] }).toEqual({
    counts: 'refused writes applied 0, lost 0, duplicated 0, out-of-order 0',
    stale: 0,
    evidence: [],
  });
});
