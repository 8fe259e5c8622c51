/**
 * (i) How soon writes flow again once the EHR is back, with the breaker as shipped (no tuning of
 * its probe). Writes wait behind an open breaker; the EHR comes back; the time from then to the
 * first write applied is printed for each of three outages. Every write still lands once, in order.
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
  auditEmailWrites,
  type AcceptedEmailWrite,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';
import { waitFor } from '../support/wait-for';

const OUTAGES = 3;
const PATIENTS = 5;

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let gateway: GatewayProcess;

beforeAll(async () => {
  rig = new FaultRig('ehr-comeback');
  redis = await rig.redis();
  sandbox = await rig.sandbox();
  // The probe interval as shipped: the rig's own quick probe would hide what a user gets.
  gateway = await rig.gateway({
    role: 'all',
    redis,
    sandbox,
    config: { connections: { sandbox: { breaker: { probeIntervalMs: undefined } } } },
  });
});
afterAll(async () => {
  await rig.close();
});

it('sends the first write soon after the EHR is back, and every write once and in order', async () => {
  const accepted: AcceptedEmailWrite[] = [];
  const gaps: number[] = [];
  for (let outage = 0; outage < OUTAGES; outage++) {
    await sandbox.setFaults({ mode: 'down', kind: 'refuse' });
    const batch: AcceptedEmailWrite[] = [];
    for (let p = 0; p < PATIENTS; p++) {
      const id = patientId(30 + p);
      const email = `comeback-${outage}-${p}@example.org`;
      const sentAt = performance.now();
      const res = await call('PATCH', `${gateway.url}/v1/patients/${id}`, {
        body: { email },
        headers: { 'idempotency-key': `${rig.prefix}-${outage}-${p}` },
      });
      expect(res.status).toBe(202);
      batch.push({
        operationId: res.body.operationId as string,
        patientId: id,
        email,
        sentAt,
        ackAt: performance.now(),
      });
    }
    // Steady outage: the breaker open and probed at least once since it opened.
    await waitFor(
      async () => {
        const { breaker } = await pipelineStatus(gateway.url);
        return breaker.state === 'open' && breaker.lastProbeAt !== breaker.openedAt ? true : undefined;
      },
      { timeoutMs: 60000, intervalMs: 100, what: 'the breaker to be open and probed' },
    );

    const upAt = Date.now();
    await sandbox.setFaults({ mode: 'up' });
    const receipts = await drainedReceipts(
      gateway.url,
      batch.map((w) => w.operationId),
      60000,
    );
    expect(statusCounts(receipts)).toEqual({ succeeded: PATIENTS });
    const firstApplied = Math.min(...receipts.map((r) => Date.parse(r.updatedAt as string)));
    gaps.push(firstApplied - upAt);
    accepted.push(...batch);
  }
  printResult(`(i) first write applied after the EHR came back: ${gaps.map((g) => `${g} ms`).join(', ')}`);

  const audit = await auditEmailWrites(sandbox.fhirBase, accepted);
  printResult(resultLine('(i) three outages, writes waiting behind the breaker', audit));
  expect(audit).toEqual({
    accepted: OUTAGES * PATIENTS,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    stale: 0,
    evidence: [],
  });
});
