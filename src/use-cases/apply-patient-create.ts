/**
 * Sends a queued registration to the EHR, exactly once in effect. The new Patient carries a
 * business identifier made from the operation id. The create is conditional on the MRN when the
 * caller gave one (one patient per MRN, whichever operation registers it: create-patient-by-mrn.ts),
 * else on the operation's identifier (`If-None-Exist`). Any attempt after the first reads back by
 * the operation's identifier before sending,
 * because an earlier attempt may have been committed with its answer lost. The lane (one per
 * registration) guarantees no two creates for one identifier are in flight at once, which matters
 * because conditional create is check-then-act on many servers.
 */
import { ContinuumError } from '../domain/errors';
import type { Patient } from '../domain/fhir';
import { OPERATION_IDENTIFIER_SYSTEM, type Operation, type PatientCreatePayload } from '../domain/operation';
import type { AppliedWrite } from './apply-patient-update';
import { createUnlessMrnHeld, writtenMrn } from './create-patient-by-mrn';
import { createOnce } from './ehr-writes';
import { rememberPatient } from './patient-read';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export async function applyPatientCreate(
  deps: Pick<UseCaseDeps, 'phoneIndex' | 'readCache' | 'clock' | 'logger'>,
  connection: ConnectionContext,
  op: Operation,
  payload: PatientCreatePayload,
): Promise<AppliedWrite> {
  const { ehr, mapping } = connection;
  const deadline = { deadlineMs: connection.writeTimeoutMs };
  const token = `${OPERATION_IDENTIFIER_SYSTEM}|${op.id}`;

  const found = async (): Promise<Patient | undefined> => {
    const matches = await ehr.search<Patient>('Patient', { identifier: token }, deadline);
    if (matches.length > 1) {
      throw new ContinuumError('EHR_REJECTED', {
        detail: `the EHR holds ${matches.length} patients created by this operation; an operator must merge them`,
      });
    }
    return matches[0];
  };
  const done = async (patient: Patient, note?: string, existed = false): Promise<AppliedWrite> => {
    const id = patient.id ?? '';
    await rememberPatient(deps, connection, mapping.readPatient(patient), { cache: true });
    return {
      resourceRef: `Patient/${id}`,
      resourceVersion: patient.meta?.versionId,
      patientId: id,
      ...(note ? { note } : {}),
      ...(existed ? { resourceExisted: true } : {}),
    };
  };

  if (op.attempts > 1) {
    const existing = await found();
    if (existing) return done(existing, 'an earlier attempt had created the patient; nothing was sent again');
  }

  const built = await mapping.buildPatient(payload.patient);
  const mrn = writtenMrn(built, payload.patient.mrn, mapping.mrnSystems);
  if (mrn !== undefined) {
    const { resource, created } = await createUnlessMrnHeld(connection, op.id, built, mrn);
    return done(
      resource,
      created
        ? undefined
        : 'the EHR already held a patient with this MRN: that patient is the result; nothing was created or changed',
      !created,
    );
  }
  const { resource: created, created: isNew } = await createOnce(connection, op.id, built);
  return done(created, isNew ? undefined : 'the EHR already held this patient; nothing new was created');
}
