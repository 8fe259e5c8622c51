/**
 * After the drain: did each accepted write land in the EHR exactly once? Judged from the EHR's own
 * records, not the gateway's: a create by the operation's business identifier
 * (`urn:continuum:operation|<id>`), a demographic correction by the patient's `_history` (the new
 * value appears in exactly one version change).
 */
import { field, stringField, type DrillHttp } from './drill-http';
import type { ExpectedWrite } from './call-load';

export const OPERATION_SYSTEM = 'urn:continuum:operation';
const FINAL = new Set(['succeeded', 'failed', 'needs-review', 'cancelled']);

export interface WriteOutcome {
  readonly operationId: string;
  readonly status: string;
  /** How many times the EHR shows the write (-1: it could not be read). */
  readonly inEhr: number;
}

export interface HistoryVerdict {
  readonly accepted: number;
  readonly succeeded: number;
  /** Final without being applied: refused by the EHR (`failed`), or held for a person (`needs-review`). */
  readonly failed: number;
  readonly needsReview: number;
  readonly cancelled: number;
  /** Still queued or sending when the drill stopped waiting. */
  readonly notDrained: number;
  /** Counted in the EHR exactly once. */
  readonly landedOnce: number;
  /** Reported done but not in the EHR. */
  readonly lost: number;
  /** In the EHR more than once. */
  readonly duplicated: number;
  /** Refused or cancelled, and still in the EHR. */
  readonly appliedDespiteFailure: number;
  /** Could not be checked (the EHR's history did not answer). */
  readonly unchecked: number;
  readonly byKind: Record<string, { accepted: number; landedOnce: number }>;
}

export async function verifyAgainstEhr(
  http: DrillHttp,
  expected: readonly ExpectedWrite[],
  concurrency = 6,
): Promise<{ verdict: HistoryVerdict; outcomes: WriteOutcome[] }> {
  const outcomes: WriteOutcome[] = [];
  const queue = [...expected];
  const historyCache = new Map<string, Promise<unknown[] | undefined>>();
  const worker = async () => {
    for (let write = queue.shift(); write !== undefined; write = queue.shift()) {
      const receipt = await http.request('GET', `/v1/operations/${encodeURIComponent(write.operationId)}`);
      const status = stringField(receipt.body, 'status') ?? 'unknown';
      outcomes.push({
        operationId: write.operationId,
        status,
        inEhr: await countInEhr(http, write, historyCache),
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const kindOf = new Map(
    expected.map((w) => [w.operationId, w.check === 'created' ? w.resourceType : 'Patient']),
  );
  return { verdict: judge(outcomes, kindOf), outcomes };
}

export function judge(
  outcomes: readonly WriteOutcome[],
  kindOf: ReadonlyMap<string, string>,
): HistoryVerdict {
  const count = (p: (o: WriteOutcome) => boolean) => outcomes.filter(p).length;
  const byKind: Record<string, { accepted: number; landedOnce: number }> = {};
  for (const o of outcomes) {
    const kind = kindOf.get(o.operationId) ?? 'unknown';
    const entry = (byKind[kind] ??= { accepted: 0, landedOnce: 0 });
    entry.accepted++;
    if (o.status === 'succeeded' && o.inEhr === 1) entry.landedOnce++;
  }
  return {
    accepted: outcomes.length,
    succeeded: count((o) => o.status === 'succeeded'),
    failed: count((o) => o.status === 'failed'),
    needsReview: count((o) => o.status === 'needs-review'),
    cancelled: count((o) => o.status === 'cancelled'),
    notDrained: count((o) => !FINAL.has(o.status)),
    landedOnce: count((o) => o.status === 'succeeded' && o.inEhr === 1),
    lost: count((o) => o.status === 'succeeded' && o.inEhr === 0),
    duplicated: count((o) => o.inEhr > 1),
    appliedDespiteFailure: count((o) => o.status !== 'succeeded' && FINAL.has(o.status) && o.inEhr === 1),
    unchecked: count((o) => o.inEhr < 0),
    byKind,
  };
}

async function countInEhr(
  http: DrillHttp,
  write: ExpectedWrite,
  historyCache: Map<string, Promise<unknown[] | undefined>>,
): Promise<number> {
  if (write.check === 'created') {
    const identifier = encodeURIComponent(`${OPERATION_SYSTEM}|${write.operationId}`);
    const res = await http.request(
      'GET',
      `/sandbox/fhir/${write.resourceType}?identifier=${identifier}&_count=10`,
    );
    if (res.status !== 200) return -1;
    const entries = field(res.body, 'entry');
    return Array.isArray(entries) ? entries.length : 0;
  }
  let versions = historyCache.get(write.patientId);
  if (versions === undefined) {
    versions = readHistory(http, write.patientId);
    historyCache.set(write.patientId, versions);
  }
  const list = await versions;
  if (list === undefined) return -1;
  // Oldest first: count the versions where the email became this value.
  let changes = 0;
  let previous: string | undefined;
  for (const version of list) {
    const email = emailOf(version);
    if (email === write.email && previous !== write.email) changes++;
    previous = email;
  }
  return changes;
}

async function readHistory(http: DrillHttp, patientId: string): Promise<unknown[] | undefined> {
  const res = await http.request(
    'GET',
    `/sandbox/fhir/Patient/${encodeURIComponent(patientId)}/_history?_count=1000`,
  );
  if (res.status !== 200) return undefined;
  const entries = field(res.body, 'entry');
  if (!Array.isArray(entries)) return [];
  return entries
    .map((e) => field(e, 'resource'))
    .sort(
      (a, b) => Number(stringField(a, 'meta', 'versionId')) - Number(stringField(b, 'meta', 'versionId')),
    );
}

function emailOf(resource: unknown): string | undefined {
  const telecom = field(resource, 'telecom');
  if (!Array.isArray(telecom)) return undefined;
  for (const t of telecom) if (field(t, 'system') === 'email') return stringField(t, 'value');
  return undefined;
}
