/**
 * Demographics for one patient, in the call-center model. Every successful read refreshes the
 * phone index, so a number seen once is found again even on an EHR that cannot search by phone.
 */
import type { Patient } from '../domain/fhir';
import type { PatientModel } from '../domain/patient';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export async function readPatient(
  deps: Pick<UseCaseDeps, 'phoneIndex'>,
  connection: ConnectionContext,
  patientId: string,
): Promise<PatientModel> {
  const resource = await connection.ehr.read<Patient>('Patient', patientId, {
    deadlineMs: connection.readDeadlineMs,
  });
  const model = connection.mapping.readPatient(resource);
  connection.confirmedPatients.remember(model.id);
  await deps.phoneIndex.replace(connection.name, model.id, model.phones);
  return model;
}
