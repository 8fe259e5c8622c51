/**
 * The fault suite's audit on hand-made EHR histories: what it calls lost, duplicated, out of order
 * and refused-but-applied must be exactly what the versions show.
 */
import {
  auditedVersion,
  auditHistories,
  refusedWritesApplied,
  type AuditedVersion,
} from '../support/history-audit';

const emailOf = (p: any): string | undefined => p.telecom?.find((t: any) => t.system === 'email')?.value;

/** A Patient version as the EHR returns it: `meta` changes with every version, content may not. */
function version(n: number, email: string | undefined, phone = '+16175550100'): AuditedVersion {
  return auditedVersion(
    {
      resourceType: 'Patient',
      id: 'pat-0001',
      meta: { versionId: String(n), lastUpdated: `2026-01-01T00:00:0${n}Z` },
      telecom: [
        { system: 'phone', value: phone },
        ...(email === undefined ? [] : [{ system: 'email', value: email }]),
      ],
    },
    emailOf,
  );
}

const write = (value: string, sentAt: number, ackAt: number) => ({
  operationId: `op-${value}`,
  patientId: 'pat-0001',
  value,
  sentAt,
  ackAt,
});

const a = write('a@example.org', 0, 1);
const b = write('b@example.org', 2, 3);

it('reports a clean history as clean', () => {
  const histories = new Map([
    ['pat-0001', [version(1, undefined), version(2, a.value), version(3, b.value)]],
  ]);
  expect(auditHistories(histories, [a, b])).toEqual({
    accepted: 2,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    stale: 0,
    evidence: [],
  });
});

it('counts an extra version with identical content as a duplicate', () => {
  const histories = new Map([
    ['pat-0001', [version(1, undefined), version(2, a.value), version(3, a.value), version(4, b.value)]],
  ]);
  const audit = auditHistories(histories, [a, b]);
  expect(audit).toMatchObject({ lost: 0, duplicated: 1, outOfOrder: 0, stale: 0 });
  expect(audit.evidence).toEqual([expect.stringContaining(`${a.operationId} (${a.value}) applied 2 times`)]);
});

it('does not count a version that keeps the email but changes something else', () => {
  const histories = new Map([
    [
      'pat-0001',
      [version(1, undefined), version(2, a.value), version(3, a.value, '+16175550199'), version(4, b.value)],
    ],
  ]);
  expect(auditHistories(histories, [a, b])).toMatchObject({ duplicated: 0, evidence: [] });
});

it('sees a write applied again after a later one as a duplicate out of order, and a stale end', () => {
  const histories = new Map([
    ['pat-0001', [version(1, undefined), version(2, a.value), version(3, b.value), version(4, a.value)]],
  ]);
  expect(auditHistories(histories, [a, b])).toMatchObject({
    lost: 0,
    duplicated: 1,
    outOfOrder: 1,
    stale: 1,
  });
});

it('finds a refused write in the history, and only that one', () => {
  const histories = new Map([
    ['pat-0001', [version(1, undefined), version(2, a.value), version(3, 'refused@x.org')]],
  ]);
  const refused = [
    { patientId: 'pat-0001', value: 'refused@x.org' },
    { patientId: 'pat-0001', value: 'never@x.org' },
  ];
  const found = refusedWritesApplied(histories, refused);
  expect(found.applied).toBe(1);
  expect(found.evidence).toEqual([expect.stringContaining('refused refused@x.org was applied')]);
});
