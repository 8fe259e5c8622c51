/**
 * (a) The EHR goes down (connections reset) while 50 agents keep writing across 25 patients, then
 * comes back. Every write is accepted during the outage, the breaker is seen open in /v1/status, and
 * once the EHR is up every accepted write lands once, in order.
 */
import {
  call,
  drainedReceipts,
  FaultRig,
  patientId,
  pipelineStatus,
  printResult,
  resultLine,
  statusCounts,
  waitUntil,
  auditEmailWrites,
  type AcceptedEmailWrite,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';

const CLIENTS = 50;
const PATIENTS = 25;
const WRITES_PER_CLIENT = 12;

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let gateway: GatewayProcess;

beforeAll(async () => {
  rig = new FaultRig('ehr-outage');
  redis = await rig.redis();
  sandbox = await rig.sandbox();
  gateway = await rig.gateway({ role: 'all', redis, sandbox });
});
afterAll(async () => {
  await rig.close();
});

it('accepts every write while the EHR is down, opens the breaker, and lands each write once and in order when it is back', async () => {
  await sandbox.setFaults({ mode: 'down', kind: 'refuse' });

  // Watch the breaker the way an operator would, for as long as the agents write.
  const breakerStates = new Set<string>();
  const agentsDone = new AbortController();
  const watcher = (async () => {
    const deadline = Date.now() + 120000;
    while (!agentsDone.signal.aborted && Date.now() < deadline) {
      const status = await pipelineStatus(gateway.url).catch(() => undefined);
      if (status) breakerStates.add(status.breaker.state as string);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  // 50 agents, two per patient, each with a short think time between writes: a few seconds of traffic.
  const accepted: AcceptedEmailWrite[] = [];
  const refused: string[] = [];
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_v, c) => {
      const id = patientId(1 + (c % PATIENTS));
      for (let k = 0; k < WRITES_PER_CLIENT; k++) {
        const email = `outage-${c}-${k}@example.org`;
        const sentAt = performance.now();
        const res = await call('PATCH', `${gateway.url}/v1/patients/${id}`, {
          body: { email },
          headers: { 'idempotency-key': `${rig.prefix}-${c}-${k}` },
        }).catch((error: unknown) => ({ status: 0, body: { code: String(error) } }));
        if (res.status !== 202) {
          refused.push(`${res.status} ${JSON.stringify(res.body)}`);
          continue;
        }
        accepted.push({
          operationId: res.body.operationId,
          patientId: id,
          email,
          sentAt,
          ackAt: performance.now(),
        });
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }),
  );
  expect(refused).toEqual([]);
  await waitUntil(() => breakerStates.has('open'), {
    timeoutMs: 20000,
    what: 'the breaker to be seen open in /v1/status',
  });
  const during = await pipelineStatus(gateway.url);
  expect(during.queue.queued + during.queue.sending).toBe(accepted.length);
  agentsDone.abort();
  await watcher;

  await sandbox.setFaults({ mode: 'up' });
  const receipts = await drainedReceipts(
    gateway.url,
    accepted.map((w) => w.operationId),
    150000,
  );
  expect(statusCounts(receipts)).toEqual({ succeeded: accepted.length });
  expect((await pipelineStatus(gateway.url)).breaker.state).toBe('closed');

  const audit = await auditEmailWrites(sandbox.fhirBase, accepted);
  printResult(resultLine('(a) EHR down under continuous writes, then up', audit));
  expect(breakerStates).toContain('open');
  expect(audit).toEqual({
    accepted: CLIENTS * WRITES_PER_CLIENT,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    stale: 0,
    evidence: [],
  });
});
