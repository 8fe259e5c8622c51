/**
 * Sends a logged call to the EHR: an Encounter (the call) and a Communication (the conversation,
 * with the agent's notes) linked to it, and a callback request as a Task. Each is created once per
 * operation (createOnce), so a re-run after a lost answer finds what the first attempt made
 * instead of logging the call twice.
 */
import type { Communication, Encounter } from '../domain/fhir';
import type { CallbackRequestPayload, CallLogPayload, Operation } from '../domain/operation';
import type { AppliedWrite } from './apply-patient-update';
import { createOnce } from './ehr-writes';
import type { ConnectionContext } from './use-case-deps';

export async function applyCallLog(
  connection: ConnectionContext,
  op: Operation,
  payload: CallLogPayload,
): Promise<AppliedWrite> {
  const encounter = await createOnce<Encounter>(
    connection,
    op.id,
    await connection.mapping.buildCallEncounter(payload.call),
  );
  const encounterId = encounter.resource.id ?? '';
  const communication = await createOnce<Communication>(
    connection,
    op.id,
    await connection.mapping.buildCallCommunication(payload.call, encounterId),
  );
  const again = !encounter.created || !communication.created;
  return {
    resourceRef: `Encounter/${encounterId}`,
    resourceVersion: encounter.resource.meta?.versionId,
    note: `Communication/${communication.resource.id ?? ''}${again ? '; part was already in the EHR from an earlier attempt' : ''}`,
    ...(payload.call.patientId !== undefined ? { patientId: payload.call.patientId } : {}),
  };
}

export async function applyCallbackRequest(
  connection: ConnectionContext,
  op: Operation,
  payload: CallbackRequestPayload,
): Promise<AppliedWrite> {
  const task = await createOnce(
    connection,
    op.id,
    await connection.mapping.buildCallbackTask(payload.callback, op.createdAt),
  );
  return {
    resourceRef: `Task/${task.resource.id ?? ''}`,
    resourceVersion: task.resource.meta?.versionId,
    ...(task.created ? {} : { note: 'the EHR already held this callback; nothing new was created' }),
    ...(payload.callback.patientId !== undefined ? { patientId: payload.callback.patientId } : {}),
  };
}
