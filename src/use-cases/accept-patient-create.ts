/**
 * POST /v1/patients: register a caller the EHR does not know yet. Accepted into the durable queue
 * like every write, so a registration taken during an outage is created once the EHR is back.
 */
import type { NewPatient } from '../domain/patient';
import { acceptWrite, findExistingWrite, type AcceptedWrite, type WriteContext } from './accept-write';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export async function acceptPatientCreate(
  deps: Pick<UseCaseDeps, 'store' | 'queue' | 'clock' | 'logger' | 'enqueueTimeoutMs'>,
  connection: ConnectionContext,
  context: WriteContext,
  patient: NewPatient,
): Promise<AcceptedWrite> {
  const request = { kind: 'patient.create', connection: connection.name, patient };
  const existing = await findExistingWrite(deps, connection, context, request);
  if (existing) return existing;
  return acceptWrite(deps, connection, context, request, { kind: 'patient.create', patient });
}
