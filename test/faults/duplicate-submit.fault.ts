/**
 * (f) A client's double submit: the same Idempotency-Key sent ten times at once, and again after the
 * write has finished. One operation, one change in the EHR, the same operation id in every answer;
 * for a correction and for a registration.
 */
import {
  call,
  drainedReceipts,
  FaultRig,
  patientId,
  printResult,
  resultLine,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';
import { emailOf, history } from '../support/pipeline';

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let gateway: GatewayProcess;

beforeAll(async () => {
  rig = new FaultRig('dup-submit');
  redis = await rig.redis();
  sandbox = await rig.sandbox();
  gateway = await rig.gateway({ role: 'all', redis, sandbox });
});
afterAll(async () => {
  await rig.close();
});

async function tenAtOnce(method: string, path: string, key: string, body: unknown) {
  return Promise.all(
    Array.from({ length: 10 }, () =>
      call(method, `${gateway.url}${path}`, { body, headers: { 'idempotency-key': key } }),
    ),
  );
}

function sameOperation(answers: readonly { status: number; body: any }[]): string {
  for (const a of answers) expect([200, 201, 202]).toContain(a.status);
  const ids = new Set(answers.map((a) => a.body.operationId as string));
  expect(ids.size).toBe(1);
  return [...ids][0]!;
}

it('applies a write sent ten times at once with one Idempotency-Key exactly once, and replays it after completion', async () => {
  const id = patientId(42);
  const email = `dup-${rig.prefix}@example.org`;
  const before = (await history(sandbox.fhirBase, `Patient/${id}`)).length;

  // A correction, ten times at once, then ten more times after it finished.
  const updateKey = `dup-update-${rig.prefix}`;
  const first = await tenAtOnce('PATCH', `/v1/patients/${id}`, updateKey, { email });
  const updateOp = sameOperation(first);
  expect(first.filter((a) => a.body.replayed !== true)).toHaveLength(1);

  // A registration, ten times at once.
  const family = `Dupont${rig.prefix.slice(-8).replace(/[^a-z]/g, 'x')}`;
  const registration = {
    name: { given: ['Ines'], family },
    birthDate: '1979-03-14',
    phones: ['(617) 555-0142'],
  };
  const createKey = `dup-create-${rig.prefix}`;
  const created = await tenAtOnce('POST', '/v1/patients', createKey, registration);
  const createOp = sameOperation(created);
  expect(created.filter((a) => a.body.replayed !== true)).toHaveLength(1);

  const receipts = await drainedReceipts(gateway.url, [updateOp, createOp], 60000);
  expect(receipts.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);

  const again = await tenAtOnce('PATCH', `/v1/patients/${id}`, updateKey, { email });
  expect(sameOperation(again)).toBe(updateOp);
  expect(again.map((a) => [a.status, a.body.status, a.body.replayed])).toEqual(
    Array(10).fill([200, 'succeeded', true]),
  );
  const createdAgain = await tenAtOnce('POST', '/v1/patients', createKey, registration);
  expect(sameOperation(createdAgain)).toBe(createOp);
  expect(createdAgain.map((a) => a.body.replayed)).toEqual(Array(10).fill(true));

  // The EHR: one new version carrying the email; one Patient with that name and that operation's identifier.
  const versions = await history(sandbox.fhirBase, `Patient/${id}`);
  const emailChanges = versions.filter(
    (v, i) => i > 0 && emailOf(v) === email && emailOf(versions[i - 1]) !== email,
  ).length;
  expect(versions.length).toBe(before + 1);
  const byName = await call('GET', `${sandbox.fhirBase}/Patient?family:exact=${family}&_count=100`);
  const byIdentifier = await call(
    'GET',
    `${sandbox.fhirBase}/Patient?identifier=${encodeURIComponent(`urn:continuum:operation|${createOp}`)}`,
  );
  const patientsCreated = (byName.body.entry ?? []).length as number;
  expect(byIdentifier.body.entry ?? []).toHaveLength(1);

  // Continuum: one operation for the patient, none left queued.
  const listed = await call('GET', `${gateway.url}/v1/operations?status=succeeded&patient=${id}`);
  expect(listed.body.operations.map((o: any) => o.operationId)).toEqual([updateOp]);

  const counts = {
    accepted: 2,
    lost: (emailChanges === 0 ? 1 : 0) + (patientsCreated === 0 ? 1 : 0),
    duplicated: (emailChanges > 1 ? 1 : 0) + (patientsCreated > 1 ? 1 : 0),
    outOfOrder: 0,
  };
  printResult(resultLine('(f) same Idempotency-Key x10 at once and after completion', counts));
  expect(counts).toEqual({ accepted: 2, lost: 0, duplicated: 0, outOfOrder: 0 });
});
