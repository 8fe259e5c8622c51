/**
 * Sends a queued demographic correction to the EHR, exactly once in effect:
 * - the update is a PUT with If-Match on the version just read, so nothing is silently overwritten;
 * - if the agent's base version is stale, the edit is re-based onto the current version when the
 *   elements it touches were not changed meanwhile; otherwise it goes to review with a diff;
 * - a re-run after a crash finds the change already in place and does not write again.
 */
import { ContinuumError } from '../domain/errors';
import { NeedsReviewError } from '../domain/failure-policy';
import type { Patient } from '../domain/fhir';
import type { PatientUpdatePayload } from '../domain/operation';
import type { PatientChangeField, PatientChanges } from '../domain/patient';
import { canonicalJson } from './request-hash';
import { writeChange } from './ehr-writes';
import { rememberPatient } from './patient-read';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export interface AppliedWrite {
  readonly resourceRef: string;
  readonly resourceVersion: string | undefined;
  readonly note?: string;
  /** Set by creates: the id the EHR gave the new patient. */
  readonly patientId?: string;
  /** Set by a create that found the resource already in the EHR: nothing was created. */
  readonly resourceExisted?: boolean;
}

function changedFields(changes: PatientChanges): PatientChangeField[] {
  return (Object.keys(changes) as PatientChangeField[]).filter((f) => changes[f] !== undefined);
}

/** Retried in-process before handing back to the queue: concurrent edits settle quickly. */
const MAX_CONFLICT_ROUNDS = 4;

function sameElements(a: Patient, b: Patient, elements: readonly string[]): boolean {
  const pick = (p: Patient, e: string): string =>
    canonicalJson((p as unknown as Record<string, unknown>)[e] ?? null);
  return elements.every((e) => pick(a, e) === pick(b, e));
}

export async function applyPatientUpdate(
  deps: Pick<UseCaseDeps, 'phoneIndex' | 'readCache' | 'clock' | 'logger'>,
  connection: ConnectionContext,
  payload: PatientUpdatePayload,
): Promise<AppliedWrite> {
  const { ehr, mapping } = connection;
  const touched = mapping.touchedElements(payload.changes);
  const deadline = { deadlineMs: connection.writeTimeoutMs };

  for (let round = 1; ; round++) {
    const current = await ehr.read<Patient>('Patient', payload.patientId, deadline);
    const currentVersion = current.meta?.versionId;
    const desired = await mapping.applyPatientChanges(current, payload.changes);

    if (sameElements(current, desired, touched)) {
      await rememberPatient(deps, connection, mapping.readPatient(current), { cache: true });
      return {
        resourceRef: `Patient/${payload.patientId}`,
        resourceVersion: currentVersion,
        note: 'the EHR already held this change; nothing was sent',
      };
    }

    if (
      payload.baseVersion !== undefined &&
      currentVersion !== undefined &&
      currentVersion !== payload.baseVersion
    ) {
      // Judged per call-center field: phones and email share FHIR's telecom but are different edits.
      const base = await ehr.readVersion<Patient>(
        'Patient',
        payload.patientId,
        payload.baseVersion,
        deadline,
      );
      const baseModel = mapping.readPatient(base);
      const currentModel = mapping.readPatient(current);
      const overlapping = changedFields(payload.changes).filter(
        (f) => canonicalJson(baseModel[f] ?? null) !== canonicalJson(currentModel[f] ?? null),
      );
      if (overlapping.length > 0) {
        throw new NeedsReviewError({
          reason: 'the same fields were changed in the EHR after the agent read them',
          fields: overlapping.map((f) => ({
            element: f,
            base: baseModel[f] ?? null,
            current: currentModel[f] ?? null,
            requested: payload.changes[f] ?? null,
          })),
        });
      }
    }

    try {
      const updated = await writeChange(connection, current, desired);
      // The cache must show the write once it is in the EHR: it is no longer pending in any lane.
      await rememberPatient(deps, connection, mapping.readPatient(updated), { cache: true });
      return { resourceRef: `Patient/${payload.patientId}`, resourceVersion: updated.meta?.versionId };
    } catch (error) {
      // Someone wrote between our read and our update: read again and re-apply.
      if (error instanceof ContinuumError && error.code === 'CONFLICT' && round < MAX_CONFLICT_ROUNDS)
        continue;
      if (error instanceof ContinuumError && error.code === 'CONFLICT') {
        throw new ContinuumError('EHR_UNAVAILABLE', {
          detail: 'the patient kept changing in the EHR during the update; will try again',
          cause: error,
        });
      }
      throw error;
    }
  }
}
