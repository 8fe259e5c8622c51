/**
 * POST /v1/patients: register a caller the EHR does not know yet. Accepted into the durable queue
 * like every write, so a registration taken during an outage is created once the EHR is back.
 */
import type { NewPatient } from '../domain/patient';
import { acceptPlainWrite, type AcceptedWrite, type WriteContext } from './accept-write';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export async function acceptPatientCreate(
  deps: Pick<UseCaseDeps, 'store' | 'queue' | 'clock' | 'logger' | 'enqueueTimeoutMs' | 'storage'>,
  connection: ConnectionContext,
  context: WriteContext,
  patient: NewPatient,
): Promise<AcceptedWrite> {
  return acceptPlainWrite(deps, connection, context, { kind: 'patient.create', patient });
}
