/**
 * The fault suite's verdict, from the EHR's own history: which accepted writes the EHR applied,
 * how often, and in which order, and whether a write the caller was told failed landed anyway.
 * Pure: the scenarios fetch `_history` and hand the versions over, so the rules can be checked on a
 * hand-made history.
 */

/** A write whose fate is checked; `value` is unique per patient, so a version shows which write it applied. */
export interface AuditedWrite {
  readonly operationId: string;
  readonly patientId: string;
  readonly value: string;
  /** When the client first sent it (before any retry), on the scenario's clock (ms). */
  readonly sentAt: number;
  /** When the client got its 202. */
  readonly ackAt: number;
}

/** One version of a resource: the audited field, and everything else but `meta` as canonical text. */
export interface AuditedVersion {
  readonly value: string | undefined;
  readonly content: string;
}

export interface Audit {
  readonly accepted: number;
  /** Accepted writes the EHR never applied. */
  readonly lost: number;
  /** Accepted writes the EHR applied more than once, an identical extra version included. */
  readonly duplicated: number;
  /** Writes applied (first or again) after a write of the same patient accepted after them. */
  readonly outOfOrder: number;
  /** Patients whose final value is not one of their last accepted writes. */
  readonly stale: number;
  /** One line per anomaly: the write, and the patient's values version by version. */
  readonly evidence: string[];
}

/** JSON with sorted keys: two versions with the same content compare equal whatever the key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function auditedVersion(
  resource: any,
  valueOf: (resource: any) => string | undefined,
): AuditedVersion {
  const { meta: _meta, ...content } = resource as Record<string, unknown>;
  return { value: valueOf(resource), content: canonical(content) };
}

/**
 * Where each value was applied: a version whose value differs from the one before, and also a
 * version identical to the one before (the same write sent again makes an extra version with no
 * visible change, and that is a duplicate all the same).
 */
function applications(versions: readonly AuditedVersion[]): Map<string, number[]> {
  const at = new Map<string, number[]>();
  versions.forEach((v, i) => {
    const previous = versions[i - 1];
    if (i === 0 || previous === undefined || v.value === undefined) return;
    if (v.value !== previous.value || v.content === previous.content) {
      at.set(v.value, [...(at.get(v.value) ?? []), i]);
    }
  });
  return at;
}

function timeline(patientId: string, versions: readonly AuditedVersion[]): string {
  const shown = versions.map((v, i) => {
    const repeat = i > 0 && v.content === versions[i - 1]?.content ? ' (identical)' : '';
    return `${i + 1}: ${v.value ?? '-'}${repeat}`;
  });
  return `history of Patient/${patientId} (version: value): ${shown.join(', ')}`;
}

function groupByPatient<W extends { readonly patientId: string }>(writes: readonly W[]): Map<string, W[]> {
  const byPatient = new Map<string, W[]>();
  for (const w of writes) byPatient.set(w.patientId, [...(byPatient.get(w.patientId) ?? []), w]);
  return byPatient;
}

/**
 * Finds every accepted write in its patient's history. Order is checked against real time: when X's
 * 202 came back before Y was sent, X was accepted first, so no application of X may follow one of Y
 * (writes in flight at the same time may go either way).
 */
export function auditHistories(
  histories: ReadonlyMap<string, readonly AuditedVersion[]>,
  writes: readonly AuditedWrite[],
): Audit {
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let stale = 0;
  const evidence: string[] = [];
  for (const [id, patientWrites] of groupByPatient(writes)) {
    const versions = histories.get(id) ?? [];
    const story = timeline(id, versions);
    const positions = applications(versions);
    for (const w of patientWrites) {
      const seen = positions.get(w.value) ?? [];
      if (seen.length === 0) lost++;
      if (seen.length > 1) duplicated++;
      if (seen.length !== 1)
        evidence.push(`${w.operationId} (${w.value}) applied ${seen.length} times; ${story}`);
    }
    for (const x of patientWrites) {
      const xLast = positions.get(x.value)?.at(-1);
      if (xLast === undefined) continue;
      const overtaken = patientWrites.some((y) => {
        const yFirst = positions.get(y.value)?.[0];
        return x.ackAt < y.sentAt && yFirst !== undefined && yFirst < xLast;
      });
      if (overtaken) {
        outOfOrder++;
        evidence.push(`${x.operationId} (${x.value}) applied after a write accepted later; ${story}`);
      }
    }
    const last = versions.at(-1)?.value;
    const finals = patientWrites.filter((x) => !patientWrites.some((y) => x.ackAt < y.sentAt));
    if (!finals.some((w) => w.value === last)) {
      stale++;
      evidence.push(`Patient/${id} ends with ${last ?? '-'}, not its last accepted write; ${story}`);
    }
  }
  return { accepted: writes.length, lost, duplicated, outOfOrder, stale, evidence };
}

/** A write the caller was told failed; `value` is unique per patient, as for accepted writes. */
export interface RefusedWrite {
  readonly patientId: string;
  readonly value: string;
}

/** Refused writes that reached the EHR anyway, with the history that shows each. */
export function refusedWritesApplied(
  histories: ReadonlyMap<string, readonly AuditedVersion[]>,
  refused: readonly RefusedWrite[],
): { readonly applied: number; readonly evidence: string[] } {
  const evidence: string[] = [];
  for (const [id, patientRefused] of groupByPatient(refused)) {
    const versions = histories.get(id) ?? [];
    const positions = applications(versions);
    for (const w of patientRefused) {
      if (positions.has(w.value)) evidence.push(`refused ${w.value} was applied; ${timeline(id, versions)}`);
    }
  }
  return { applied: evidence.length, evidence };
}
