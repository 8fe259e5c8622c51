/**
 * PATCH /v1/patients/:id: a demographic correction. The patient is checked against the EHR when
 * it answers within the check budget (an unknown patient is refused before anything is queued);
 * during an outage, or while the EHR is slow or hung, the write is still accepted, because taking
 * the agent's correction is the point of the queue.
 */
import { isEhrUnavailable } from '../domain/errors';
import { withDeadline } from '../domain/with-deadline';
import type { Patient } from '../domain/fhir';
import type { PatientChanges } from '../domain/patient';
import { acceptCheckBudget, type AcceptCheckBudget } from './accept-check-budget';
import { acceptWrite, findExistingWrite, type AcceptedWrite, type WriteContext } from './accept-write';
import { withRunningProfile } from './pinned-profile';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export interface PatientUpdateInput {
  readonly patientId: string;
  readonly changes: PatientChanges;
  /** The version the agent saw (If-Match); without it the change applies to whatever is current. */
  readonly ifMatchVersion: string | undefined;
}

export async function acceptPatientUpdate(
  deps: Pick<
    UseCaseDeps,
    'store' | 'queue' | 'clock' | 'logger' | 'phoneIndex' | 'enqueueTimeoutMs' | 'storage'
  >,
  running: ConnectionContext,
  context: WriteContext,
  input: PatientUpdateInput,
): Promise<AcceptedWrite> {
  // One profile version for the checks and the write's pin, whatever a reload does meanwhile.
  const connection = withRunningProfile(running);
  const request = { kind: 'patient.update', connection: connection.name, ...input };
  // Only the caller's If-Match says which version the agent saw. The version read here is not it:
  // earlier writes for this patient may still be queued and will move it on before this one runs.
  const payload = {
    kind: 'patient.update' as const,
    patientId: input.patientId,
    changes: input.changes,
    baseVersion: input.ifMatchVersion,
  };
  // A patient the EHR confirmed moments ago (the screen pop before this correction) is not asked
  // about again; the store's atomic insert still settles idempotency.
  if (connection.confirmedPatients.has(input.patientId))
    return acceptWrite(deps, connection, context, request, payload);

  // A retry must not cost an EHR round trip: look the idempotency key up first.
  const existing = await findExistingWrite(deps, connection, context, request);
  if (existing) return existing;
  const checked =
    (await connection.ehrAvailable()) && (await patientExists(deps, connection, input.patientId));
  return acceptWrite(deps, connection, context, request, payload, checked ? {} : { note: UNCHECKED_NOTE });
}

const UNCHECKED_NOTE =
  'accepted while the EHR was unavailable or slow to answer: the patient is not yet confirmed; ' +
  'the EHR checks it when the write is sent';

/**
 * True when the EHR confirms the patient within the write's check budget (refreshing the phone
 * index on the way); false when it cannot tell by then. An unknown patient is refused (NOT_FOUND)
 * before anything is queued when the EHR says so within the budget.
 */
export async function patientExists(
  deps: Pick<UseCaseDeps, 'phoneIndex'>,
  connection: ConnectionContext,
  patientId: string,
  budget: AcceptCheckBudget = acceptCheckBudget(connection),
): Promise<boolean> {
  // Past the budget the write is queued, and a worker may apply a phone correction before this read
  // lands: refreshing the index from the older read would undo the worker's. Only a read the agent
  // waited for refreshes it.
  let waitedFor = true;
  try {
    const answer = await budget.within(async () => {
      const current = await connection.ehr.read<Patient>('Patient', patientId, {
        deadlineMs: connection.readDeadlineMs,
      });
      connection.confirmedPatients.remember(patientId);
      if (!waitedFor) return true;
      // The index refresh is a bonus here; a slow Redis must not hold the agent's write.
      await withDeadline(
        deps.phoneIndex.replace(connection.name, patientId, connection.mapping.readPhones(current)),
        500,
        'the phone index',
      ).catch(() => undefined);
      return true;
    });
    waitedFor = answer === true;
    return answer === true;
  } catch (error) {
    if (isEhrUnavailable(error)) return false;
    throw error;
  }
}
