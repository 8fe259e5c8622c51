/**
 * (d) Writes the EHR commits whose answer is then lost (the connection is reset after the commit),
 * for a share of requests: the worker cannot tell a lost answer from a failed write and must try
 * again without applying anything twice. Corrections (re-read and compare) and registrations
 * (conditional create on the operation's identifier, read back after an ambiguous failure) alike.
 */
import {
  acceptEmailBacklog,
  call,
  drainedReceipts,
  FaultRig,
  mapLimit,
  printResult,
  resultLine,
  statusCounts,
  auditEmailWrites,
  type AcceptedEmailWrite,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';

const PATIENTS = 15;
const WRITES_PER_PATIENT = 5;
const REGISTRATIONS = 15;

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let gateway: GatewayProcess;

beforeAll(async () => {
  rig = new FaultRig('lost-response');
  redis = await rig.redis();
  sandbox = await rig.sandbox();
  gateway = await rig.gateway({
    role: 'all',
    redis,
    sandbox,
    config: { connections: { sandbox: { breaker: { failureThreshold: 5, probeIntervalMs: 300 } } } },
  });
});
afterAll(async () => {
  await rig.close();
});

async function patientsNamed(family: string): Promise<any[]> {
  const bundle = await call('GET', `${sandbox.fhirBase}/Patient?family:exact=${family}&_count=100`);
  return ((bundle.body.entry ?? []) as { resource: any }[]).map((e) => e.resource);
}

it('applies each write once when the EHR commits it but the answer is lost', async () => {
  // 20 % of requests fail; every failing write fails after its commit (answer lost by a reset).
  await sandbox.setFaults({ mode: 'flaky', failureRate: 0.2, afterCommitRate: 1, seed: 20261123 });

  const updates: AcceptedEmailWrite[] = [];
  const registrations: { operationId: string; family: string }[] = [];
  const tag = rig.prefix.slice(-8).replace(/[^a-z]/g, 'q');
  await Promise.all([
    acceptEmailBacklog({
      url: gateway.url,
      tag: 'lost',
      keyPrefix: `${rig.prefix}-u`,
      patients: PATIENTS,
      perPatient: WRITES_PER_PATIENT,
      firstPatient: 80,
    }).then((written) => {
      updates.push(...written);
    }),
    mapLimit(
      Array.from({ length: REGISTRATIONS }, (_v, r) => r),
      5,
      async (r) => {
        const family = `Lostanswer${tag}${String.fromCharCode(97 + r)}`;
        const res = await call('POST', `${gateway.url}/v1/patients`, {
          body: { name: { given: ['Rae'], family }, birthDate: '1990-01-02', phones: ['978-555-0171'] },
          headers: { 'idempotency-key': `${rig.prefix}-c-${r}` },
        });
        expect(res.status).toBe(202);
        registrations.push({ operationId: res.body.operationId, family });
      },
    ),
  ]);

  const ids = [...updates.map((w) => w.operationId), ...registrations.map((r) => r.operationId)];
  const receipts = await drainedReceipts(gateway.url, ids, 150000);
  const faults = await sandbox.faults();
  await sandbox.setFaults({ mode: 'up' });
  expect(statusCounts(receipts)).toEqual({ succeeded: ids.length });
  expect(faults.counters.failedAfterCommit).toBeGreaterThan(10);

  const audit = await auditEmailWrites(sandbox.fhirBase, updates);
  let lostCreates = 0;
  let duplicatedCreates = 0;
  for (const { operationId, family } of registrations) {
    const named = await patientsNamed(family);
    const byIdentifier = await call(
      'GET',
      `${sandbox.fhirBase}/Patient?identifier=${encodeURIComponent(`urn:continuum:operation|${operationId}`)}`,
    );
    const count = Math.max(named.length, (byIdentifier.body.entry ?? []).length as number);
    if (count === 0) lostCreates++;
    if (count > 1) duplicatedCreates++;
  }
  const counts = {
    accepted: ids.length,
    lost: audit.lost + lostCreates,
    duplicated: audit.duplicated + duplicatedCreates,
    outOfOrder: audit.outOfOrder,
  };
  printResult(resultLine('(d) commit succeeds, response lost', counts));
  expect({ ...counts, stale: audit.stale, evidence: audit.evidence }).toEqual({
    accepted: PATIENTS * WRITES_PER_PATIENT + REGISTRATIONS,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    stale: 0,
    evidence: [],
  });
});
